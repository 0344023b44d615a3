// Package gofuncs reads which functions a Go binary links, for reachability: every
// function of its function table (.gopclntab) and every function inlined into one (each
// function's inline tree), named by package and symbol as Go vulnerability records name
// them. Stripping (-ldflags=-s -w) removes the symbol table and DWARF, not these: the
// tables are found through the runtime's module data (the structure the runtime itself
// reads them from), so a stripped binary reads as its plain build does.
//
// Go 1.18 and later binaries, little-endian (every platform Go images run on but s390x);
// anything else is an error, and the caller decides nothing from it.
package gofuncs

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strings"
	"unsafe"

	"github.com/imagegate/imagegate/scanner/namehash"
)

// Table is what a binary links and the platform it was built for: the hash (scanner/namehash)
// of each entry (package and symbol) and of each package path, sorted, each once. Eight
// bytes a function and no pointers: a table is kept for every Go binary of an image until
// matching (a 54 MB binary's names took 2 MiB as strings). Two names with one hash only
// make a symbol read as linked when it is not, the direction that never hides a finding:
// a binary's author can add names, not remove the ones it links.
type Table struct {
	syms, pkgs   []uint64
	goos, goarch string
}

// Platform is the GOOS and GOARCH of the build ("" when its build information does not
// say).
func (t *Table) Platform() (goos, goarch string) { return t.goos, t.goarch }

// HasPackage says whether any function of the package is linked (or inlined).
func (t *Table) HasPackage(path string) bool {
	_, ok := slices.BinarySearch(t.pkgs, pkgHash(path))
	return ok
}

// Has says whether the package's symbol ("Func", "Type.Method") is linked or inlined.
func (t *Table) Has(path, symbol string) bool {
	_, ok := slices.BinarySearch(t.syms, entryHash(path, symbol))
	return ok
}

// GobEncode and GobDecode keep a table in the layer cache.
func (t *Table) GobEncode() ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(wire{GOOS: t.goos, GOARCH: t.goarch, Syms: t.syms, Pkgs: t.pkgs})
	return buf.Bytes(), err
}

// GobDecode is GobEncode's inverse; a hash list that is not sorted, each once, is refused.
func (t *Table) GobDecode(b []byte) error {
	var w wire
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&w); err != nil {
		return err
	}
	for _, l := range [][]uint64{w.Syms, w.Pkgs} {
		for i := 1; i < len(l); i++ {
			if l[i-1] >= l[i] {
				return errors.New("gofuncs: a table out of order")
			}
		}
	}
	t.goos, t.goarch, t.syms, t.pkgs = w.GOOS, w.GOARCH, w.Syms, w.Pkgs
	return nil
}

type wire struct {
	GOOS, GOARCH string
	Syms, Pkgs   []uint64
}

// Bytes is what the table keeps in memory.
func (t *Table) Bytes() int64 { return 8 * int64(len(t.syms)+len(t.pkgs)) }

// Packages is how many packages have code in the binary.
func (t *Table) Packages() int { return len(t.pkgs) }

func pkgHash(pkg string) uint64 { return namehash.String(pkg) }

func entryHash(pkg, sym string) uint64 { return namehash.Seeded(namehash.String(pkg), sym) }

// The table layouts, by the pclntab header's magic.
const (
	magic118 = 0xfffffff0 // Go 1.18, 1.19
	magic120 = 0xfffffff1 // Go 1.20 and later
)

// vmProtWrite is Mach-O's write permission bit of a segment.
const vmProtWrite = 2

// The runtime's indices of the inline tree's tables.
const (
	pcdataInlTreeIndex = 2
	funcdataInlTree    = 3
)

// segment is a loaded part of the file: its address, where its bytes are in the file, and
// whether the program may write it (the runtime's module data is writable data).
type segment struct {
	addr, off, size uint64
	writable        bool
}

type binaryFile struct {
	*blocks
	segs    []segment
	pclntab uint64 // the named section's address, when there is one
}

// Read reads the table of the Go binary of size bytes that r reads. The binary is read a
// block at a time (a few MiB at most are held, whatever its size: a 200 MB binary is
// neither read into memory nor mapped whole).
func Read(r io.ReaderAt, size int64) (*Table, error) {
	bf, err := open(r, size)
	if err != nil {
		return nil, err
	}
	defer bf.release()
	candidates := bf.pclntabCandidates()
	if len(candidates) == 0 {
		return nil, bf.failed(errors.New("no Go function table (pclntab) found"))
	}
	for _, addr := range candidates {
		m, err := bf.moduleData(addr)
		if err != nil {
			continue
		}
		t, err := m.read()
		if err != nil {
			return nil, err
		}
		if bi, err := buildinfo.Read(r); err == nil {
			for _, st := range bi.Settings {
				switch st.Key {
				case "GOOS":
					t.goos = st.Value
				case "GOARCH":
					t.goarch = st.Value
				}
			}
		}
		return t, nil
	}
	return nil, bf.failed(errors.New("the Go function table's module data was not found (not a Go 1.18+ little-endian binary)"))
}

func open(r io.ReaderAt, size int64) (*binaryFile, error) {
	bf := &binaryFile{blocks: newBlocks(r, size)}
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil && size >= 4 {
		return nil, fmt.Errorf("reading the binary: %w", err)
	}
	if string(magic[:]) == elf.ELFMAG {
		f, err := elf.NewFile(r)
		if err != nil {
			return nil, fmt.Errorf("reading the ELF file: %w", err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD {
				bf.segs = append(bf.segs, segment{p.Vaddr, p.Off, p.Filesz, p.Flags&elf.PF_W != 0})
			}
		}
		if s := f.Section(".gopclntab"); s != nil {
			bf.pclntab = s.Addr
		}
		return bf, nil
	}
	if f, err := macho.NewFile(r); err == nil {
		for _, l := range f.Loads {
			if s, ok := l.(*macho.Segment); ok {
				bf.segs = append(bf.segs, segment{s.Addr, s.Offset, s.Filesz, s.Prot&vmProtWrite != 0})
			}
		}
		if s := f.Section("__gopclntab"); s != nil {
			bf.pclntab = s.Addr
		}
		return bf, nil
	}
	if f, err := pe.NewFile(r); err == nil {
		var base uint64
		switch oh := f.OptionalHeader.(type) {
		case *pe.OptionalHeader64:
			base = oh.ImageBase
		case *pe.OptionalHeader32:
			base = uint64(oh.ImageBase)
		}
		for _, s := range f.Sections {
			bf.segs = append(bf.segs, segment{base + uint64(s.VirtualAddress), uint64(s.Offset), uint64(min(s.Size, s.VirtualSize)), s.Characteristics&pe.IMAGE_SCN_MEM_WRITE != 0})
		}
		return bf, nil
	}
	return nil, errors.New("not an ELF, Mach-O or PE executable")
}

// offset is where the n bytes at address addr are in the file, when they are all in one
// segment of it.
func (bf *binaryFile) offset(addr, n uint64) (int64, bool) {
	for _, s := range bf.segs {
		if addr >= s.addr && addr-s.addr <= s.size && n <= s.size-(addr-s.addr) && s.off+s.size <= uint64(bf.size) {
			return int64(s.off + addr - s.addr), true
		}
	}
	return 0, false
}

// at returns a copy of the n bytes at address addr, or nil when they are not all in one
// segment of the file.
func (bf *binaryFile) at(addr, n uint64) []byte {
	off, ok := bf.offset(addr, n)
	if !ok {
		return nil
	}
	return bf.read(nil, off, int64(n))
}

// pclntabCandidates are the addresses the table may start at: the named section, else
// every place a header of a known layout starts (a binary whose section headers are gone);
// the module data decides which is the one.
func (bf *binaryFile) pclntabCandidates() []uint64 {
	if bf.pclntab != 0 {
		return []uint64{bf.pclntab}
	}
	var out []uint64
	for _, s := range bf.segs {
		for _, m := range []uint32{magic120, magic118} {
			var pat [4]byte
			binary.LittleEndian.PutUint32(pat[:], m)
			bf.scan(s, pat[:], func(addr uint64) bool {
				h := bf.at(addr, 8)
				if len(h) == 8 && h[4] == 0 && h[5] == 0 && (h[6] == 1 || h[6] == 2 || h[6] == 4) && (h[7] == 4 || h[7] == 8) && (addr-s.addr)%4 == 0 {
					out = append(out, addr)
				}
				return len(out) <= 64
			})
		}
	}
	return out
}

// module is the runtime's module data of the binary: where each table is.
type module struct {
	bf                                  *binaryFile
	ptr                                 uint64 // pointer size
	minLC                               uint64
	v120                                bool
	funcnametab, pctab, pclntable, ftab region
	nfunc                               int
	gofunc                              uint64
}

// region is a table's place in the file.
type region struct{ off, n int64 }

// moduleData finds the module data that points at the table at addr: a pointer-aligned
// word equal to addr, followed by the function name table's slice (which starts where the
// header says), with a go:func.* address inside the binary.
func (bf *binaryFile) moduleData(addr uint64) (*module, error) {
	hdr := bf.at(addr, 8)
	if hdr == nil {
		return nil, errors.New("table outside the file")
	}
	m := &module{bf: bf, ptr: uint64(hdr[7]), minLC: uint64(hdr[6]), v120: binary.LittleEndian.Uint32(hdr) == magic120}
	full := bf.at(addr, 8+8*m.ptr)
	if full == nil {
		return nil, errors.New("short header")
	}
	word := func(b []byte, i uint64) uint64 {
		if m.ptr == 4 {
			return uint64(binary.LittleEndian.Uint32(b[i*4:]))
		}
		return binary.LittleEndian.Uint64(b[i*8:])
	}
	// pcHeader: magic, pad, minLC, ptrSize, then nfunc, nfiles, textStart,
	// funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset (pointer-sized).
	fields := full[8:]
	m.nfunc = int(word(fields, 0))
	nameOff := word(fields, 3)
	gofuncIndex := uint64(38) // Go 1.18, 1.19: no covctrs
	if m.v120 {
		gofuncIndex = 40
	}
	size := (gofuncIndex + 1) * m.ptr
	var want [8]byte
	binary.LittleEndian.PutUint64(want[:], addr)
	pat := want[:m.ptr]
	// The writable segments first: the module data is there, and the rest of the binary
	// is then never read.
	found := false
	for _, writable := range []bool{true, false} {
		for _, s := range bf.segs {
			if s.writable != writable || found {
				continue
			}
			bf.scan(s, pat, func(at uint64) bool {
				if (at-s.addr)%m.ptr != 0 {
					return true
				}
				if cand := bf.at(at, size); cand != nil && word(cand, 1) == addr+nameOff && m.fill(cand, word) == nil {
					found = true
				}
				return !found
			})
		}
	}
	if !found {
		return nil, errors.New("no module data points at the table")
	}
	return m, nil
}

// fill reads the module data's slices (pointer, length, capacity each).
func (m *module) fill(md []byte, word func([]byte, uint64) uint64) error {
	ok := true
	slice := func(i, elem uint64) region {
		n := word(md, i+1)
		if n > math.MaxInt32 {
			ok = false
			return region{}
		}
		off, in := m.bf.offset(word(md, i), n*elem)
		ok = ok && in
		return region{off, int64(n * elem)}
	}
	m.funcnametab, m.pctab, m.pclntable, m.ftab = slice(1, 1), slice(10, 1), slice(13, 1), slice(16, 8) // ftab: []functab, 8 bytes each
	m.gofunc = word(md, 38)
	if m.v120 {
		m.gofunc = word(md, 40)
	}
	switch {
	case !ok:
		return errors.New("module data slices outside the file")
	case uint64(m.ftab.n) < uint64(m.nfunc+1)*8 || m.nfunc <= 0:
		return errors.New("function table shorter than its count")
	case m.bf.at(m.gofunc, 1) == nil:
		return errors.New("go:func.* outside the file")
	}
	return nil
}

// read walks every function and its inline tree.
func (m *module) read() (*Table, error) {
	// What the functions point at (their names, pc-value tables, inline trees) lies apart
	// in a real binary, or is shared whole and small: all read adds up to about the
	// binary's size. Tables made to overlap (names without their NULs, trees at every
	// offset of one another) would make the work grow with the square: past twice the
	// binary's size the table is refused.
	w := &work{max: 2 * m.bf.size}
	names := newNameSet(m, w)
	addName := names.add
	fixed := uint32(40) // the _func fields before pcdata: Go 1.18, 1.19
	inlSize := uint64(20)
	if m.v120 {
		fixed, inlSize = 44, 16 // startLine added
	}
	var buf, tree []byte
	for i := 0; i < m.nfunc; i++ {
		if buf = m.bf.read(buf, m.ftab.off+int64(i)*8+4, 4); buf == nil {
			return nil, m.bf.failed(fmt.Errorf("function %d outside the table", i))
		}
		funcoff := int64(binary.LittleEndian.Uint32(buf))
		if funcoff+int64(fixed) > m.pclntable.n {
			return nil, fmt.Errorf("function %d outside the table", i)
		}
		if buf = m.bf.read(buf, m.pclntable.off+funcoff, int64(fixed)); buf == nil {
			return nil, m.bf.failed(fmt.Errorf("function %d outside the file", i))
		}
		addName(binary.LittleEndian.Uint32(buf[4:]))
		npcdata := binary.LittleEndian.Uint32(buf[28:])
		nfuncdata := uint32(buf[fixed-1])
		if npcdata <= pcdataInlTreeIndex || nfuncdata <= funcdataInlTree {
			continue
		}
		whole := int64(fixed) + 4*(int64(npcdata)+int64(nfuncdata))
		if whole > m.pclntable.n-funcoff {
			return nil, fmt.Errorf("function %d: its tables run past the table", i)
		}
		if buf = m.bf.read(buf, m.pclntable.off+funcoff, whole); buf == nil {
			return nil, m.bf.failed(fmt.Errorf("function %d outside the file", i))
		}
		inlOff := binary.LittleEndian.Uint32(buf[fixed+4*npcdata+4*funcdataInlTree:])
		if inlOff == ^uint32(0) {
			continue
		}
		n, err := m.maxValue(binary.LittleEndian.Uint32(buf[fixed+4*pcdataInlTreeIndex:]), w)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		if n < 0 {
			continue
		}
		if w.spend(int64(n+1) * int64(inlSize)); w.over() {
			return nil, errOverlap
		}
		off, ok := m.bf.offset(m.gofunc+uint64(inlOff), uint64(n+1)*inlSize)
		if !ok {
			return nil, fmt.Errorf("function %d: inline tree outside the file", i)
		}
		if tree = m.bf.read(tree, off, int64(n+1)*int64(inlSize)); tree == nil {
			return nil, m.bf.failed(fmt.Errorf("function %d: inline tree outside the file", i))
		}
		nameAt := uint64(4) // Go 1.20+: funcID, pad, nameOff
		if !m.v120 {
			nameAt = 12 // parent, funcID, pad, file, line, func_
		}
		for j := uint64(0); j <= uint64(n); j++ {
			addName(binary.LittleEndian.Uint32(tree[j*inlSize+nameAt:]))
		}
	}
	if m.bf.err != nil { // a name that could not be read
		return nil, m.bf.failed(nil)
	}
	if w.over() {
		return nil, errOverlap
	}
	return names.table(), nil
}

// nameSet collects the hashes of the entries the functions and inline trees name.
type nameSet struct {
	m          *module
	w          *work
	done       []uint64 // the name offsets done, a bit each: inline trees repeat a name many times
	syms, pkgs []uint64
	name       []byte // the name being added
}

func newNameSet(m *module, w *work) *nameSet {
	return &nameSet{m: m, w: w, done: make([]uint64, m.funcnametab.n/64+1)}
}

func (ns *nameSet) add(off uint32) {
	if int64(off) >= ns.m.funcnametab.n || ns.done[off/64]&(1<<(off%64)) != 0 || ns.w.over() {
		return
	}
	ns.done[off/64] |= 1 << (off % 64)
	ns.name = ns.m.appendName(ns.name[:0], off)
	ns.w.spend(int64(len(ns.name)) + 1)
	// The name is read through a string view of ns.name, which the next name overwrites:
	// only its hashes outlive this call.
	pkg, sym, ok := entry(unsafe.String(unsafe.SliceData(ns.name), len(ns.name)))
	if !ok {
		return
	}
	ns.syms = append(ns.syms, entryHash(pkg, sym))
	if h := pkgHash(pkg); len(ns.pkgs) == 0 || ns.pkgs[len(ns.pkgs)-1] != h { // a package's functions are mostly together
		ns.pkgs = append(ns.pkgs, h)
	}
}

// work counts the bytes reading a table has read against its bound.
type work struct{ read, max int64 }

func (w *work) spend(n int64) { w.read += n }
func (w *work) over() bool    { return w.read > w.max }

var errOverlap = errors.New("the function table's names, pc-value tables or inline trees overlap past twice the binary's size (a malformed table)")

// table sorts the hashes into a Table, each once, in lists of their own size.
func (ns *nameSet) table() *Table {
	sorted := func(l []uint64) []uint64 {
		slices.Sort(l)
		return slices.Clip(slices.Compact(l))
	}
	return &Table{syms: slices.Clone(sorted(ns.syms)), pkgs: slices.Clone(sorted(ns.pkgs))}
}

// appendName appends the function name at off in the name table (up to its NUL), found
// in the held blocks.
func (m *module) appendName(b []byte, off uint32) []byte {
	pos, end := m.funcnametab.off+int64(off), m.funcnametab.off+m.funcnametab.n
	for pos < end {
		blk := m.bf.block(pos / blockSize)
		at := pos % blockSize
		if at >= int64(len(blk)) {
			break // a read error: read reports it
		}
		chunk := blk[at:min(int64(len(blk)), at+end-pos)]
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			return append(b, chunk[:i]...)
		}
		b = append(b, chunk...)
		pos += int64(len(chunk))
	}
	return b
}

// maxValue is the largest value of the pc-value table at off in pctab (-1 for none): the
// inline tree's length is not stored, only implied by the indices its table uses.
func (m *module) maxValue(off uint32, w *work) (int, error) {
	if off == 0 {
		return -1, nil
	}
	if int64(off) >= m.pctab.n {
		return 0, errors.New("pc-value table outside the table")
	}
	p := m.bf.reader(m.pctab.off+int64(off), m.pctab.n-int64(off))
	start := p.off
	defer func() { w.spend(p.off - start) }()
	val, max := int32(-1), int32(-1)
	for first := true; ; first = false {
		if w.read+(p.off-start) > w.max {
			return 0, errOverlap
		}
		uv, err := binary.ReadUvarint(p)
		if err != nil {
			return 0, m.bf.failed(errors.New("malformed pc-value table"))
		}
		if uv == 0 && !first {
			return int(max), nil
		}
		if uv&1 != 0 {
			uv = ^(uv >> 1)
		} else {
			uv >>= 1
		}
		val += int32(uv)
		if _, err := binary.ReadUvarint(p); err != nil {
			return 0, m.bf.failed(errors.New("malformed pc-value table"))
		}
		if val > max {
			max = val
		}
		if max > 1<<20 {
			return 0, errors.New("inline tree index out of range")
		}
	}
}

// entry names a function by the package and symbol Go vulnerability records use:
// "net/http.(*Client).Do" is net/http's "Client.Do", instantiations lose their type
// arguments ("pkg.Map[...].Get" is "Map.Get"), and the package path's escaped dots are
// unescaped ("gopkg.in/yaml%2ev3.Unmarshal" is gopkg.in/yaml.v3's "Unmarshal").
// Compiler-made symbols (type:, go:) belong to no package: not ok.
func entry(name string) (pkg, sym string, ok bool) {
	pkg, sym = Split(name)
	if pkg == "" || sym == "" || strings.ContainsRune(pkg, 0) || strings.ContainsRune(sym, 0) {
		return "", "", false
	}
	return pkg, sym, true
}

// Split cuts a function's linker name into its package path and its symbol.
func Split(name string) (pkg, sym string) {
	if strings.HasPrefix(name, "type:") || strings.HasPrefix(name, "go:") || strings.HasPrefix(name, "type.") || strings.HasPrefix(name, "go.") {
		return "", ""
	}
	name = withoutInstantiation(name)
	pathEnd := strings.LastIndex(name, "/")
	if pathEnd < 0 {
		pathEnd = 0
	}
	dot := strings.Index(name[pathEnd:], ".")
	if dot < 0 {
		return "", ""
	}
	pkg, sym = name[:pathEnd+dot], name[pathEnd+dot+1:]
	if p, err := url.PathUnescape(pkg); err == nil {
		pkg = p
	}
	if strings.HasPrefix(sym, "(") {
		if end := strings.Index(sym, ")"); end > 0 {
			sym = strings.TrimPrefix(sym[1:end], "*") + sym[end+1:]
		}
	}
	return pkg, sym
}

// withoutInstantiation drops bracketed type arguments: "F[go.shape.int]" is "F".
func withoutInstantiation(s string) string {
	if !strings.Contains(s, "[") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}
