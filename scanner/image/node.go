package image

import (
	"slices"
	"strings"
)

// node is one name of the final filesystem: the entry there (nil for a directory that
// only exists implicitly) and, for a directory, what is below it.
type node struct {
	name string // the path component (a part of an entry's path: no copy)
	file *File
	kids *children
}

// children are a directory's entries: a sorted slice while they are few (a Go map costs
// ~200 bytes even for one entry, and most directories hold a few), a map past
// manyChildren (so that an insertion never moves more than that many).
type children struct {
	few  []*node
	many map[string]*node
}

const manyChildren = 32

func byName(c *node, name string) int { return strings.Compare(c.name, name) }

func (n *node) child(name string, create bool) *node {
	if n.kids != nil {
		if n.kids.many != nil {
			if c, ok := n.kids.many[name]; ok {
				return c
			}
		} else if i, ok := slices.BinarySearchFunc(n.kids.few, name, byName); ok {
			return n.kids.few[i]
		}
	}
	if !create {
		return nil
	}
	c := &node{name: name}
	switch {
	case n.kids == nil:
		n.kids = &children{few: []*node{c}}
	case n.kids.many != nil:
		n.kids.many[name] = c
	case len(n.kids.few) < manyChildren:
		i, _ := slices.BinarySearchFunc(n.kids.few, name, byName)
		n.kids.few = slices.Insert(n.kids.few, i, c)
	default:
		n.kids.many = make(map[string]*node, 2*manyChildren)
		for _, k := range n.kids.few {
			n.kids.many[k.name] = k
		}
		n.kids.few = nil
		n.kids.many[name] = c
	}
	return c
}

// remove deletes the child called name and returns it, if there is one.
func (n *node) remove(name string) *node {
	switch {
	case n.kids == nil:
	case n.kids.many != nil:
		if c, ok := n.kids.many[name]; ok {
			delete(n.kids.many, name)
			return c
		}
	default:
		if i, ok := slices.BinarySearchFunc(n.kids.few, name, byName); ok {
			c := n.kids.few[i]
			n.kids.few = slices.Delete(n.kids.few, i, i+1)
			return c
		}
	}
	return nil
}

// hide marks the entry at n and every entry below it removed from the final filesystem.
func (n *node) hide() {
	if n.file != nil {
		n.file.Removed = true
	}
	n.hideBelow()
}

// hideBelow marks every entry below n removed and lets go of them.
func (n *node) hideBelow() {
	if n.kids == nil {
		return
	}
	for _, c := range n.kids.few {
		c.hide()
	}
	for _, c := range n.kids.many {
		c.hide()
	}
	n.kids = nil
}

// sorted lists the children in name order.
func (n *node) sorted() []*node {
	switch {
	case n.kids == nil:
		return nil
	case n.kids.many == nil:
		return n.kids.few
	}
	out := make([]*node, 0, len(n.kids.many))
	for _, c := range n.kids.many {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *node) int { return strings.Compare(a.name, b.name) })
	return out
}
