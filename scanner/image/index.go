package image

import (
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/imagegate/imagegate/report"
)

// FileType is the kind of a tar entry.
type FileType uint8

// File types.
const (
	TypeRegular FileType = iota + 1
	TypeDir
	TypeSymlink
	TypeHardlink
	TypeOther
)

// File is one tar entry of one layer. An image holds many (44,000 in a 1 GiB image): its
// fields are packed into 64 bytes, and what few files have (a link's target, the bytes
// of a kept file) is apart.
type File struct {
	Path  string // relative to the image root, cleaned, no leading slash
	Size  int64
	Layer int // index of the layer that holds this entry
	ext   *fileExtra
	Mode  fs.FileMode
	// UID and GID are the entry's owner as its tar header says (clamped to int32).
	UID, GID int32
	Type     FileType

	// Retained says Content is the file's bytes (of a package.json over the file size
	// limit, its name and version only).
	Retained bool
	// Removed says a later layer deleted or replaced this entry: it is not in the final
	// filesystem, but its bytes still ship inside the image.
	Removed bool

	wantData bool
}

// fileExtra is what only some files have.
type fileExtra struct {
	linkname string
	data     []byte     // a kept file's bytes in memory
	kept     *keptRange // or where they wait on disk
}

// Content is a kept file's bytes (Retained): in memory, or read back from the walk's
// temporary file (KeepInMemory). Nothing for other files.
func (f *File) Content() Content {
	switch {
	case f.ext == nil:
		return Content{}
	case f.ext.kept != nil:
		return Content{ReaderAt: f.ext.kept, Size: f.ext.kept.size}
	}
	return BytesContent(f.ext.data)
}

// Linkname is a symlink's target as written, or a hard link's cleaned target path.
func (f *File) Linkname() string {
	if f.ext == nil {
		return ""
	}
	return f.ext.linkname
}

func (f *File) setData(b []byte) {
	if f.ext == nil {
		f.ext = &fileExtra{}
	}
	f.ext.data = b
}

func (f *File) keepRange(k *keptRange) {
	if f.ext == nil {
		f.ext = &fileExtra{}
	}
	f.ext.kept = k
}

// shareContent gives a hard link its target's kept bytes.
func (f *File) shareContent(target *File) {
	if target.ext == nil {
		return
	}
	if f.ext == nil {
		f.ext = &fileExtra{}
	}
	f.ext.data, f.ext.kept = target.ext.data, target.ext.kept
}

func (f *File) setLinkname(s string) {
	if s == "" && f.ext == nil {
		return
	}
	if f.ext == nil {
		f.ext = &fileExtra{}
	}
	f.ext.linkname = s
}

// RetainedFile is a regular file of layer 0 whose bytes are kept (for analyzers' tests).
func RetainedFile(p string, mode fs.FileMode, data []byte) *File {
	f := &File{Path: p, Type: TypeRegular, Mode: mode, Size: int64(len(data)), Retained: true}
	f.setData(data)
	return f
}

// ownerID clamps a tar header's user or group ID to int32 (a real ID is far smaller).
func ownerID(id int) int32 {
	return int32(max(math.MinInt32, min(math.MaxInt32, id)))
}

// Index is the result of the layer walk: every entry of every layer, and the final
// filesystem that the layers make together.
type Index struct {
	Layers     []report.Layer
	layers     [][]*File
	root       *node
	versions   map[string][]*File // every layer's copy of each retained path
	warnings   []string
	incomplete []string
	kept       *keptFiles

	// hops and steps count symlink hops followed and path components walked, in all
	// lookups; budgetSpent records the first budget spent.
	hops, steps atomic.Int64
	budgetSpent sync.Once
}

// Warnings lists what the walk noticed but did not stop for.
func (x *Index) Warnings() []string { return x.warnings }

// Incomplete lists files the analyzers needed and did not get: the scan did not see all
// it should have.
// A kept file that could not be read back from the walk's temporary file is one of them.
func (x *Index) Incomplete() []string {
	if err := x.kept.readError(); err != nil {
		return append(slices.Clip(x.incomplete), err.Error())
	}
	return x.incomplete
}

// Close lets go of the walk's temporary file of kept files (KeepInMemory); the kept
// files on disk cannot be read after it.
func (x *Index) Close() error { return x.kept.close() }

func (x *Index) warnf(format string, args ...any) {
	x.warnings = append(x.warnings, fmt.Sprintf(format, args...))
}

// startMerge readies the index for n layers, merged in order by mergeLayer as the walk
// reads them.
func (x *Index) startMerge(n int) {
	x.root = &node{}
	x.layers = make([][]*File, n)
	x.versions = map[string][]*File{}
}

// mergeLayer applies layer i over the layers below it (all merged before it): first its
// opaque directories and whiteouts (which hide lower layers only), then its entries. An
// entry a layer hides or replaces is marked Removed as it goes (every entry is shown
// until then): once the last layer is merged, Removed says which entries the final
// filesystem does not show.
func (x *Index) mergeLayer(i int, lc *layerContent) {
	x.layers[i] = lc.files
	for _, d := range lc.opaques {
		if n := x.lookupNode(d); n != nil {
			n.hideBelow()
		}
	}
	for _, w := range lc.whiteouts {
		dir, base := path.Split(w)
		if parent := x.lookupNode(strings.TrimSuffix(dir, "/")); parent != nil {
			if gone := parent.remove(base); gone != nil {
				gone.hide()
			}
		}
	}
	for _, f := range lc.files {
		f.Removed = false
		if f.Type == TypeHardlink && f.wantData {
			if target := x.lookupNode(f.Linkname()); target != nil && target.file != nil && target.file.Retained {
				f.shareContent(target.file)
				f.Retained, f.Size = true, target.file.Size
			}
		}
		n := x.root
		for rest := f.Path; rest != ""; {
			part, after, _ := strings.Cut(rest, "/")
			n, rest = n.child(part, true), after
		}
		if f.Type != TypeDir {
			n.hideBelow() // a file replacing a directory hides what was below it
		}
		if n.file != nil {
			n.file.Removed = true
		}
		n.file = f
		if f.Retained {
			x.versions[f.Path] = append(x.versions[f.Path], f)
		}
	}
}

func (x *Index) lookupNode(p string) *node {
	n := x.root
	if p == "" || p == "." {
		return n
	}
	for _, part := range strings.Split(p, "/") {
		if n = n.child(part, false); n == nil {
			return nil
		}
	}
	return n
}

// walk visits the final filesystem in path order. (Files carry their paths: building
// them again here would cost the square of the depth.)
func (x *Index) walk(fn func(f *File)) {
	var rec func(n *node)
	rec = func(n *node) {
		for _, c := range n.sorted() {
			if c.file != nil {
				fn(c.file)
			}
			rec(c)
		}
	}
	rec(x.root)
}

// Files returns the final filesystem's entries in path order.
func (x *Index) Files() []*File {
	var out []*File
	x.walk(func(f *File) { out = append(out, f) })
	return out
}

// LayerFiles returns every entry of layer i, including ones later layers removed.
func (x *Index) LayerFiles(i int) []*File { return x.layers[i] }

// Versions returns every layer's copy of a retained file, oldest first; removed copies
// included.
func (x *Index) Versions(p string) []*File { return x.versions[p] }

// RetainedPaths lists the paths that have a retained copy in some layer.
func (x *Index) RetainedPaths() []string {
	out := make([]string, 0, len(x.versions))
	for p := range x.versions {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Lstat returns the final entry at p without following a final symlink.
func (x *Index) Lstat(p string) (*File, bool) {
	rp, ok := x.resolve(p, false)
	if !ok {
		return nil, false
	}
	n := x.lookupNode(rp)
	if n == nil {
		return nil, false
	}
	if n.file == nil { // implicit directory
		return &File{Path: rp, Type: TypeDir, Mode: fs.ModeDir | 0o755, Layer: -1}, true
	}
	return n.file, true
}

// Stat returns the final entry at p, following symlinks inside the image root.
func (x *Index) Stat(p string) (*File, bool) {
	rp, ok := x.resolve(p, true)
	if !ok {
		return nil, false
	}
	return x.Lstat(rp)
}

// maxSymlinkHops bounds one symlink resolution, as the kernel's MAXSYMLINKS does, and
// MaxSymlinkHopsTotal all of them in one image: 20,000 chains of 40 links cannot keep the
// analyzers resolving past the deadline. MaxResolveSteps bounds the path components all
// resolutions walk (a hop into a 10,000-deep target walks 10,000): the time symlinks can
// cost, not only their number. Past either total, lookups fail and the scan is incomplete.
const (
	maxSymlinkHops      = 40
	MaxSymlinkHopsTotal = 1_000_000
	MaxResolveSteps     = 20_000_000
)

// resolve follows symlinks in the directories of p (and in p itself when followLast) the
// way a chroot at the image root would: ".." never climbs above the root and absolute
// targets start at the image root. Nothing on the host is ever looked at. Each component
// is one step from the node before it.
func (x *Index) resolve(p string, followLast bool) (string, bool) {
	parts := splitPath(p)
	var done []string
	nodes := []*node{x.root} // nodes[i] is the node of done[:i]
	hops := 0
	for len(parts) > 0 {
		if !x.spend(&x.steps, MaxResolveSteps, "path components walked resolving symlinks") {
			return "", false
		}
		part := parts[0]
		parts = parts[1:]
		if part == ".." {
			if len(done) > 0 {
				done, nodes = done[:len(done)-1], nodes[:len(nodes)-1]
			}
			continue
		}
		n := nodes[len(nodes)-1].child(part, false)
		if n == nil {
			return "", false
		}
		last := len(parts) == 0
		if n.file != nil && n.file.Type == TypeSymlink && (!last || followLast) {
			hops++
			if hops > maxSymlinkHops || !x.spend(&x.hops, MaxSymlinkHopsTotal, "symlink hops") {
				return "", false
			}
			target := n.file.Linkname()
			if strings.HasPrefix(target, "/") {
				done, nodes = nil, nodes[:1]
			}
			parts = append(splitPath(target), parts...)
			continue
		}
		done, nodes = append(done, part), append(nodes, n)
	}
	return strings.Join(done, "/"), true
}

// spend counts one unit of a budget shared by every lookup of the image; past max it
// says so once (the scan is incomplete) and refuses.
func (x *Index) spend(used *atomic.Int64, max int64, what string) bool {
	if used.Add(1) <= max {
		return true
	}
	x.budgetSpent.Do(func() {
		x.incomplete = append(x.incomplete, fmt.Sprintf("more than %d %s in all: the rest of the image's symlinks were not followed", max, what))
	})
	return false
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}

// ReadDir lists the final entries directly below directory p (symlinks followed).
func (x *Index) ReadDir(p string) ([]*File, bool) {
	rp, ok := x.resolve(p, true)
	if !ok {
		return nil, false
	}
	n := x.lookupNode(rp)
	if n == nil || (n.file != nil && n.file.Type != TypeDir) {
		return nil, false
	}
	kids := n.sorted()
	out := make([]*File, 0, len(kids))
	for _, c := range kids {
		f := c.file
		if f == nil {
			f = &File{Path: path.Join(rp, c.name), Type: TypeDir, Mode: fs.ModeDir | 0o755, Layer: -1}
		}
		out = append(out, f)
	}
	return out, true
}
