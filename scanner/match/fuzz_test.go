package match

import (
	"os"
	"path/filepath"
	"testing"

	osvschema "github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// FuzzAffects evaluates real OSV records' affected entries against arbitrary installed
// versions in each record's ecosystem: never a panic, and a version listed explicitly is
// always affected.
func FuzzAffects(f *testing.F) {
	root := filepath.Join("..", "..", "testdata", "osv-records")
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(root, d.Name(), "*.json"))
		for i, p := range files {
			if i >= 3 {
				break
			}
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, "1.2.3")
			f.Add(data, "0:1.0-1")
			f.Add(data, "v2.0.0-rc.1+meta")
		}
	}
	f.Fuzz(func(t *testing.T, record []byte, version string) {
		var v osvschema.Vulnerability
		if protojson.Unmarshal(record, &v) != nil {
			return
		}
		for _, a := range v.GetAffected() {
			eco := ecosystem.Base(a.GetPackage().GetEcosystem())
			compact := vulndb.CompactAffected(a, eco)
			hit, _, _ := (&installed{raw: version, ecosystem: eco}).affectedBy(&compact)
			for _, listed := range a.GetVersions() {
				if listed == version && !hit {
					t.Fatalf("%s lists %q but it is not affected", v.GetId(), version)
				}
			}
		}
	})
}

// FuzzVersionOrder: in every ecosystem imagegate matches, comparing two versions gives
// opposite answers in the two directions, and a version equals itself.
func FuzzVersionOrder(f *testing.F) {
	for _, s := range [][3]string{
		{"npm", "1.2.3", "1.2.3-beta.1"}, {"PyPI", "1.0.post1", "1.0rc1"}, {"Go", "v1.2.3", "v0.0.0-2022"},
		{"Debian", "1:2.3-4", "2.3-4+deb12u1"}, {"Alpine", "1.2.3-r4", "1.2.3_rc1-r0"}, {"Maven", "1.0-SNAPSHOT", "1.0.Final"},
		{"RubyGems", "1.0.0.pre", "1.0"}, {"crates.io", "0.1.0", "0.1.0-alpha"}, {"NuGet", "1.0.0.1", "1.0"},
		{"Packagist", "v1.0", "1.0-dev"}, {"Red Hat", "0:1.1-2.el9", "1.1-10.el9"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, eco, a, b string) {
		va, errA := vulndb.ParseVersion(a, eco, false)
		vb, errB := vulndb.ParseVersion(b, eco, false)
		if errA != nil || errB != nil {
			return
		}
		ab, err1 := va.Compare(vb)
		ba, err2 := vb.Compare(va)
		if err1 != nil || err2 != nil {
			return
		}
		if sign(ab) != -sign(ba) {
			t.Fatalf("%s: compare(%q, %q) = %d but compare(%q, %q) = %d", eco, a, b, ab, b, a, ba)
		}
		if aa, err := va.Compare(va); err == nil && aa != 0 {
			t.Fatalf("%s: %q does not equal itself", eco, a)
		}
	})
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
