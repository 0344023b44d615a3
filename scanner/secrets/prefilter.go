package secrets

import (
	"bytes"
	"encoding/binary"
)

// prefilter answers "which groups of hints does data contain?" at close to memory speed: each
// hint is anchored on its least common two-byte pair, a 64 Ki-entry table marks the
// anchors, and one pass over data looks every byte pair up, checking the few hints whose
// anchor it is. (An Aho-Corasick automaton ran at ~230 MB/s here: a scan of every text
// file of an image took longer than reading the image.)
type prefilter struct {
	table   [1 << 16]uint8   // anchor pair -> 1 + index into groups, 0: none
	groups  [][]anchoredHint // hints by anchor
	minSize int
}

type anchoredHint struct {
	s      []byte
	offset int    // where the anchor pair sits in s
	group  uint64 // the bit of the hint's group
}

// byteCost estimates how common a byte is in text files: lower-case letters, spaces and
// newlines are everywhere; upper case, digits and punctuation are rarer.
func byteCost(b byte) int {
	switch {
	case b >= 'a' && b <= 'z', b == ' ', b == '\n', b == '\t':
		return 3
	case b >= 'A' && b <= 'Z', b == '.', b == '/', b == ',', b == '"':
		return 2
	case b >= '0' && b <= '9':
		return 1
	}
	return 0 // '_', '-', '=', ...
}

// newPrefilter indexes groups of hints (at most 64 groups).
func newPrefilter(hintGroups [][]string) *prefilter {
	if len(hintGroups) > 64 {
		panic("secrets: more than 64 hint groups")
	}
	p := &prefilter{minSize: 1 << 30}
	for gi, hints := range hintGroups {
		for _, h := range hints {
			p.add(h, uint64(1)<<gi)
		}
	}
	return p
}

// add indexes one hint of a group.
func (p *prefilter) add(h string, group uint64) {
	if len(h) < 2 {
		panic("secrets: hint shorter than 2 bytes: " + h)
	}
	best, bestCost := 0, 1<<30
	for i := 0; i+1 < len(h); i++ {
		if c := byteCost(h[i]) + byteCost(h[i+1]); c < bestCost {
			best, bestCost = i, c
		}
	}
	key := uint16(h[best])<<8 | uint16(h[best+1])
	if p.table[key] == 0 {
		p.groups = append(p.groups, nil)
		p.table[key] = uint8(len(p.groups))
	}
	g := int(p.table[key]) - 1
	p.groups[g] = append(p.groups[g], anchoredHint{s: []byte(h), offset: best, group: group})
	p.minSize = min(p.minSize, len(h))
}

// match returns the set of groups (one bit each) whose hints data contains.
func (p *prefilter) match(data []byte) (set uint64) {
	if len(data) < p.minSize {
		return 0
	}
	t := &p.table
	// Seven byte pairs from one 8-byte load, their table entries ORed: the positions are
	// looked at one by one only when one of the seven is an anchor.
	i := 0
	for ; i+8 <= len(data); i += 7 {
		w := binary.BigEndian.Uint64(data[i:])
		if t[uint16(w>>48)]|t[uint16(w>>40)]|t[uint16(w>>32)]|t[uint16(w>>24)]|t[uint16(w>>16)]|t[uint16(w>>8)]|t[uint16(w)] == 0 {
			continue
		}
		for j := i; j < i+7; j++ {
			set = p.at(data, j, set)
		}
	}
	for ; i+1 < len(data); i++ {
		set = p.at(data, i, set)
	}
	return set
}

// at adds the groups of the hints anchored at data[i:i+2] that data holds.
func (p *prefilter) at(data []byte, i int, set uint64) uint64 {
	g := p.table[uint16(data[i])<<8|uint16(data[i+1])]
	if g == 0 {
		return set
	}
	for _, h := range p.groups[g-1] {
		start := i - h.offset
		if set&h.group == 0 && start >= 0 && start+len(h.s) <= len(data) && bytes.Equal(data[start:start+len(h.s)], h.s) {
			set |= h.group
		}
	}
	return set
}
