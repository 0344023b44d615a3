package match_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/imagegate/imagegate/report"

	"github.com/imagegate/imagegate/scanner/match"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// BenchmarkMatch500 matches a 500-package inventory against the whole of ../shared/osv
// with a warm index. The packages are real names from the data (about half of them hit
// records), at early versions.
func BenchmarkMatch500(b *testing.B) {
	wd, _ := os.Getwd()
	zips, _ := filepath.Glob(filepath.Join(wd, "..", "..", "..", "shared", "osv", "*", "all.zip"))
	if len(zips) == 0 {
		b.Skip("../shared/osv not found")
	}
	dir := b.TempDir()
	if _, err := vulndb.Import(context.Background(), dir, zips...); err != nil {
		b.Fatal(err)
	}
	s, err := vulndb.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	pkgs := samplePackages(b, zips, 250)
	for i := 0; i < 250; i++ { // and 250 that no record names
		pkgs = append(pkgs, report.Package{Ecosystem: "npm", Type: "npm", Name: "no-such-package-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Version: "1.0.0"})
	}
	if len(pkgs) != 500 {
		b.Fatalf("%d packages", len(pkgs))
	}
	// "current": every sampled package at a version past its fixes (the common case: the
	// records are read and compared, few match); "vulnerable": every one at 0.0.1, so
	// nearly every record matches and becomes a finding (the worst case).
	for _, c := range []struct{ name, version string }{{"current", "99999.0.0"}, {"vulnerable", "0.0.1"}} {
		b.Run(c.name, func(b *testing.B) {
			for i := range pkgs[:250] {
				pkgs[i].Version = c.version
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			var found int
			for i := 0; i < b.N; i++ {
				res, err := match.Match(context.Background(), s, pkgs, match.Options{})
				if err != nil {
					b.Fatal(err)
				}
				found = len(res.Findings)
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(found), "findings")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MiB/op")
		})
	}
}

// samplePackages takes n (ecosystem, name) pairs named by records, spread over the exports.
func samplePackages(b *testing.B, zips []string, n int) []report.Package {
	type key struct{ eco, name string }
	var all []key
	seen := map[key]bool{}
	for _, z := range zips {
		zr, err := zip.OpenReader(z)
		if err != nil {
			b.Fatal(err)
		}
		for i, f := range zr.File {
			if i%40 != 0 {
				continue
			}
			rc, _ := f.Open()
			var r struct {
				Affected []struct {
					Package struct{ Ecosystem, Name string } `json:"package"`
				} `json:"affected"`
			}
			json.NewDecoder(rc).Decode(&r)
			rc.Close()
			for _, a := range r.Affected {
				k := key{a.Package.Ecosystem, a.Package.Name}
				if !seen[k] && k.eco != "" {
					seen[k] = true
					all = append(all, k)
				}
			}
		}
		zr.Close()
	}
	sort.Slice(all, func(i, j int) bool { return all[i].eco+all[i].name < all[j].eco+all[j].name })
	step := len(all) / n
	var out []report.Package
	for i := 0; i < n; i++ {
		k := all[i*step]
		out = append(out, report.Package{Ecosystem: k.eco, Name: k.name, Version: "0.0.1"})
	}
	return out
}
