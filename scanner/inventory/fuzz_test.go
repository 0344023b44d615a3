package inventory

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/osv-scalibr/extractor/filesystem"

	"github.com/imagegate/imagegate/scanner/image"
)

// FuzzPackageDatabases feeds arbitrary bytes to every extractor as the file it reads
// (dpkg status and status.d, apk installed, package.json, METADATA, lockfiles, installed.json,
// ...), seeded with the real fixtures: never a panic, and every package has a name.
func FuzzPackageDatabases(f *testing.F) {
	// The paths are in a fixed order: which picks one, and saved inputs must keep meaning.
	seeds := [][2]string{
		{"var/lib/dpkg/status", "pkgdb/debian11-base/var/lib/dpkg/status"},
		{"var/lib/dpkg/status.d/base-files", "pkgdb/distroless11/var/lib/dpkg/status.d/base-files"},
		{"lib/apk/db/installed", "pkgdb/alpine320/lib/apk/db/installed"},
		{"app/node_modules/ms/package.json", "npm/demo-app/node_modules/ms/package.json"},
		{"app/package-lock.json", "langs/package-lock.json"},
		{"srv/Gemfile.lock", "langs/Gemfile.lock"},
		{"srv/Cargo.lock", "langs/Cargo.lock"},
		{"srv/poetry.lock", "langs/poetry.lock"},
		{"srv/TestLibrary.deps.json", "langs/TestLibrary.deps.json"},
		{"srv/vendor/composer/installed.json", "langs/installed.json"},
		{"usr/lib/python3/x-1.0.dist-info/METADATA", "langs/site-packages/monotonic-1.6.dist-info/METADATA"},
	}
	var paths []string
	for _, sd := range seeds {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", filepath.FromSlash(sd[1])))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(len(paths)), data)
		paths = append(paths, sd[0])
	}
	a, err := New(0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		p := paths[int(which)%len(paths)]
		file := image.RetainedFile(p, 0o644, data)
		for _, exs := range [][]filesystem.Extractor{a.databases, a.manifests, a.lockfiles} {
			ex := pick(exs, unsized(p, file.Info()))
			if ex == nil {
				continue
			}
			fsys := fstest.MapFS{p: {Data: data}, "etc/os-release": {Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")}}
			pkgs, _ := extract(context.Background(), ex, fsys, file, image.BytesContent(data), nil)
			for _, pkg := range pkgs {
				if pkg.Name == "" {
					t.Fatalf("%s: a package without a name: %+v", p, pkg)
				}
			}
		}
	})
}
