package inventory

import (
	"bufio"
	"bytes"
	"path"
	"strings"

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

// ownedPaths collects the paths (relative to the image root) that OS packages own.
func ownedPaths(idx *image.Index) map[string]bool {
	owned := map[string]bool{}
	for _, p := range idx.RetainedPaths() {
		versions := idx.Versions(p)
		f := versions[len(versions)-1]
		if f.Removed {
			continue
		}
		switch {
		case strings.HasSuffix(p, ".list"):
			eachLine(f.Data, func(l string) { owned[strings.TrimPrefix(l, "/")] = true })
		case strings.HasSuffix(p, ".md5sums"):
			eachLine(f.Data, func(l string) {
				if _, file, ok := strings.Cut(l, "  "); ok {
					owned[strings.TrimPrefix(file, "/")] = true
				}
			})
		case p == apkInstalled:
			dir := ""
			eachLine(f.Data, func(l string) {
				switch {
				case strings.HasPrefix(l, "F:"):
					dir = l[2:]
					owned[dir] = true
				case strings.HasPrefix(l, "R:"):
					owned[path.Join(dir, l[2:])] = true
				}
			})
		}
	}
	return owned
}

func eachLine(data []byte, fn func(string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			fn(l)
		}
	}
}
