package inventory

import (
	"bufio"
	"bytes"
	"path"
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/image"
)

// Which files belong to an OS package: language packages installed by the OS package
// manager (python3-yaml's egg-info, say) are matched through the OS advisories only.

const apkInstalled = "lib/apk/db/installed"

// isOwnershipList reports the files that list an OS package's files: dpkg's info/*.list
// and the md5sums that distroless images keep in status.d.
func isOwnershipList(p string) bool {
	switch {
	case strings.HasPrefix(p, "var/lib/dpkg/info/") && strings.HasSuffix(p, ".list"):
		return true
	case strings.HasPrefix(p, "var/lib/dpkg/status.d/") && strings.HasSuffix(p, ".md5sums"):
		return true
	}
	return false
}

// markOwned sets OSOwned on the language packages whose files an OS package lists. It
// looks up each listed path among the packages' locations (a few) instead of collecting
// every listed path (a Debian system lists ~100,000).
func markOwned(idx *image.Index, pkgs []report.Package) {
	at := map[string][]int{}
	for i, p := range pkgs {
		if ecosystem.IsDistroType(p.Type) {
			continue
		}
		for _, loc := range p.Locations {
			at[loc] = append(at[loc], i)
		}
	}
	if len(at) == 0 {
		return
	}
	mark := func(l []byte) {
		for _, i := range at[string(bytes.TrimPrefix(l, []byte("/")))] {
			pkgs[i].OSOwned = true
		}
	}
	for _, p := range idx.RetainedPaths() {
		versions := idx.Versions(p)
		f := versions[len(versions)-1]
		if f.Removed {
			continue
		}
		switch {
		case strings.HasSuffix(p, ".list"):
			eachLine(f.Data, mark)
		case strings.HasSuffix(p, ".md5sums"):
			eachLine(f.Data, func(l []byte) {
				if _, file, ok := bytes.Cut(l, []byte("  ")); ok {
					mark(file)
				}
			})
		case p == apkInstalled:
			var dir []byte
			eachLine(f.Data, func(l []byte) {
				switch {
				case bytes.HasPrefix(l, []byte("F:")):
					dir = append(dir[:0], l[2:]...)
					mark(dir)
				case bytes.HasPrefix(l, []byte("R:")):
					mark([]byte(path.Join(string(dir), string(l[2:]))))
				}
			})
		}
	}
}

// eachLine calls fn with each non-blank line of data, trimmed; the slice is valid only
// for the call.
func eachLine(data []byte, fn func([]byte)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			fn(l)
		}
	}
}
