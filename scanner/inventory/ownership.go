package inventory

import (
	"bufio"
	"bytes"
	"path"
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/namehash"
)

// Which files belong to an OS package: language packages installed by the OS package
// manager (python3-yaml's egg-info, say) are matched through the OS advisories only.

const apkInstalled = "lib/apk/db/installed"

// isOwnershipList reports the files that list an OS package's files: dpkg's info/*.list
// and the md5sums that distroless images keep in status.d. They are read as they stream
// by and kept as a hash per listed path (8 bytes where the path took ~80: a Debian system
// lists ~100,000), not retained whole.
func isOwnershipList(p string) bool {
	switch {
	case strings.HasPrefix(p, "var/lib/dpkg/info/") && strings.HasSuffix(p, ".list"):
		return true
	case strings.HasPrefix(p, "var/lib/dpkg/status.d/") && strings.HasSuffix(p, ".md5sums"):
		return true
	}
	return false
}

// listedPaths hashes the paths an ownership list names, in its order (markOwned looks
// each up: sorting them was 1% of a scan's CPU for nothing).
func listedPaths(p string, c image.Content) []uint64 {
	md5sums := strings.HasSuffix(p, ".md5sums")
	var out []uint64
	if b := c.Bytes(); b != nil {
		out = make([]uint64, 0, bytes.Count(b, []byte{'\n'})+1)
	}
	eachLine(c, func(l []byte) {
		if md5sums {
			var ok bool
			if _, l, ok = bytes.Cut(l, []byte("  ")); !ok {
				return
			}
		}
		out = append(out, pathHash(l))
	})
	return out
}

// pathHash is the hash of a path without its leading slash (scanner/namehash). Lists and
// paths both come from the image: a path made to collide with a listed one claims no more
// than listing it would.
func pathHash(p []byte) uint64 { return namehash.Bytes(bytes.TrimPrefix(p, []byte("/"))) }

// markOwned sets OSOwned on the language packages whose files an OS package lists: the
// lists of the final filesystem (lists, hashed), and apk's database.
func (a *Analyzer) markOwned(idx *image.Index, pkgs []report.Package) {
	at := map[uint64][]int{}
	for i, p := range pkgs {
		if ecosystem.IsDistroType(p.Type) {
			continue
		}
		for _, loc := range p.Locations {
			h := pathHash([]byte(loc))
			at[h] = append(at[h], i)
		}
	}
	if len(at) == 0 {
		return
	}
	// A bit for each low 16 bits of the locations' hashes: most paths the lists name are
	// no package's location, and a bit says so faster than the map (~100,000 paths).
	var maybe [1 << 16 / 64]uint64
	for h := range at {
		maybe[h&0xffff>>6] |= 1 << (h & 63)
	}
	mark := func(h uint64) {
		if maybe[h&0xffff>>6]&(1<<(h&63)) == 0 {
			return
		}
		for _, i := range at[h] {
			pkgs[i].OSOwned = true
		}
	}
	a.mu.Lock()
	for f, hashes := range a.lists {
		if !f.Removed {
			for _, h := range hashes {
				mark(h)
			}
		}
	}
	a.mu.Unlock()
	if f, ok := idx.Lstat(apkInstalled); ok && f.Retained {
		var dir []byte
		eachLine(f.Content(), func(l []byte) {
			switch {
			case bytes.HasPrefix(l, []byte("F:")):
				dir = append(dir[:0], l[2:]...)
				mark(pathHash(dir))
			case bytes.HasPrefix(l, []byte("R:")):
				mark(pathHash([]byte(path.Join(string(dir), string(l[2:])))))
			}
		})
	}
}

// eachLine calls fn with each non-blank line of c, trimmed; the slice is valid only for
// the call. Content in memory is cut at its newlines where it lies (a Debian system's
// file lists are ~700 files, each a scanner's buffer to fill and grow); content read from
// disk goes through a scanner, lines to 1 MiB.
func eachLine(c image.Content, fn func([]byte)) {
	if b := c.Bytes(); b != nil {
		for len(b) > 0 {
			var line []byte
			line, b, _ = bytes.Cut(b, []byte{'\n'})
			if l := bytes.TrimSpace(line); len(l) > 0 {
				fn(l)
			}
		}
		return
	}
	sc := bufio.NewScanner(c.Reader())
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			fn(l)
		}
	}
}
