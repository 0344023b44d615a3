package match_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/match"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// scaleMix is how many records of each ecosystem the osv.dev-scale benchmark generates,
// from the real records of ../shared/osv: single-package npm, PyPI and Go records; Debian
// and Alpine records per source package (many records per package, as there); AlmaLinux
// records naming hundreds of binary packages each, as Red Hat-style advisories do.
var scaleMix = []struct {
	eco      string
	n        int
	names    int // distinct package names the records spread over
	fanout   int // real records whose affected entries one generated record combines
	renameTo string
}{
	{"npm", 200_000, 200_000, 1, "gen-npm-%d"},
	{"PyPI", 80_000, 80_000, 1, "gen-py-%d"},
	{"Go", 40_000, 40_000, 1, "example.com/gen/m%d"},
	{"Debian", 100_000, 5_000, 1, "gen-deb-%d"},
	{"Alpine", 40_000, 3_000, 1, "gen-apk-%d"},
	{"AlmaLinux", 40_000, 20_000, 8, "gen-rpm-%d"},
}

// scaleZips writes the generated exports once (cached in the temporary folder) and returns
// them, with their total size.
func scaleZips(b *testing.B) ([]string, int64) {
	wd, _ := os.Getwd()
	shared := filepath.Join(wd, "..", "..", "..", "shared", "osv")
	if _, err := os.Stat(shared); err != nil {
		b.Skip("../shared/osv not found")
	}
	dir := filepath.Join(os.TempDir(), "imagegate-osv-scale")
	var zips []string
	var total int64
	for _, m := range scaleMix {
		p := filepath.Join(dir, m.eco, "all.zip")
		zips = append(zips, p)
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
			continue
		}
		if err := generate(filepath.Join(shared, m.eco, "all.zip"), p, m.eco, m.n, m.names, m.fanout, m.renameTo); err != nil {
			b.Fatal(err)
		}
		st, _ := os.Stat(p)
		total += st.Size()
	}
	return zips, total
}

func generate(src, dst, eco string, n, names, fanout int, rename string) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return err
	}
	defer zr.Close()
	var real []map[string]any
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		var rec map[string]any
		err = json.NewDecoder(rc).Decode(&rec)
		rc.Close()
		if err == nil && rec["withdrawn"] == nil && len(asSlice(rec["affected"])) > 0 {
			real = append(real, rec)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst + ".tmp")
	if err != nil {
		return err
	}
	zw := zip.NewWriter(out)
	rng := rand.New(rand.NewPCG(uint64(n), uint64(len(eco))))
	for i := range n {
		base := real[i%len(real)]
		rec := map[string]any{}
		for k, v := range base {
			rec[k] = v
		}
		rec["id"] = fmt.Sprintf("GEN-%s-%d", strings.ReplaceAll(eco, " ", ""), i)
		var affected []any
		for j := range fanout {
			from := base
			if j > 0 {
				from = real[rng.IntN(len(real))]
			}
			for _, a := range asSlice(from["affected"]) {
				am, ok := a.(map[string]any)
				if !ok {
					continue
				}
				c := map[string]any{}
				for k, v := range am {
					c[k] = v
				}
				pkg := map[string]any{}
				for k, v := range asMap(am["package"]) {
					pkg[k] = v
				}
				pkg["name"] = fmt.Sprintf(rename, rng.IntN(names))
				if fanout == 1 && names >= n {
					pkg["name"] = fmt.Sprintf(rename, i)
				}
				delete(pkg, "purl")
				c["package"] = pkg
				affected = append(affected, c)
			}
		}
		rec["affected"] = affected
		w, err := zw.Create(rec["id"].(string) + ".json")
		if err != nil {
			return err
		}
		if err := json.NewEncoder(w).Encode(rec); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(dst+".tmp", dst)
}

// scalePackages is an inventory of n packages named by the generated data (a fifth each
// of npm, Debian, AlmaLinux, PyPI and Alpine), at versions inside the ranges.
func scalePackages(n int) []report.Package {
	var out []report.Package
	for i := range n {
		switch i % 5 {
		case 0:
			out = append(out, report.Package{Ecosystem: "npm", Type: "npm", Name: fmt.Sprintf("gen-npm-%d", i*37), Version: "0.0.1"})
		case 1:
			out = append(out, report.Package{Ecosystem: "Debian:11", Type: "deb", Name: fmt.Sprintf("gen-deb-%d", i), Version: "1.0-1"})
		case 2:
			out = append(out, report.Package{Ecosystem: "AlmaLinux:8", Type: "rpm", Name: fmt.Sprintf("gen-rpm-%d", i*7), Version: "1.0-1.el8"})
		case 3:
			out = append(out, report.Package{Ecosystem: "PyPI", Type: "pypi", Name: fmt.Sprintf("gen-py-%d", i*11), Version: "0.0.1"})
		default:
			out = append(out, report.Package{Ecosystem: "Alpine:v3.20", Type: "apk", Name: fmt.Sprintf("gen-apk-%d", i), Version: "1.0-r0"})
		}
	}
	return out
}

func asSlice(v any) []any        { s, _ := v.([]any); return s }
func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// BenchmarkOSVScale imports ≥500,000 generated records (the real mix, see scaleMix) with
// the imagegate binary, measuring its time and peak RSS, the store's size against the
// zips', then matches 500 packages against the store (the time per match) and 300
// packages against it and against testdata/osv. Targets: import ≤ 5 min, peak RSS ≤ 500
// MiB, store ≤ 2× the zips, 500 packages ≤ 50 ms, 300 no slower than on the small store.
func BenchmarkOSVScale(b *testing.B) {
	zips, zipBytes := scaleZips(b)
	bin := filepath.Join(b.TempDir(), "imagegate")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/imagegate").CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	db := filepath.Join(b.TempDir(), "db")
	timing := filepath.Join(b.TempDir(), "time")
	start := time.Now()
	cmd := exec.Command("/usr/bin/time", append([]string{"-o", timing, "-f", "%M", bin, "db", "import", "--db", db}, zips...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	importS := time.Since(start).Seconds()
	kb, _ := os.ReadFile(timing)
	rss, _ := strconv.ParseFloat(strings.TrimSpace(string(kb)), 64)
	var storeBytes int64
	entries, _ := os.ReadDir(db)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			storeBytes += info.Size()
		}
	}
	s, err := vulndb.Open(db)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	records := 0
	for _, i := range s.Infos() {
		records += i.Records
	}
	ctx := context.Background()
	p500, p300 := scalePackages(500), scalePackages(300)
	if _, err := match.Match(ctx, s, p500, match.Options{}); err != nil { // warm: indexes verified, scores loaded
		b.Fatal(err)
	}
	b.ResetTimer()
	findings := 0
	for b.Loop() {
		res, err := match.Match(ctx, s, p500, match.Options{})
		if err != nil {
			b.Fatal(err)
		}
		findings = len(res.Findings)
	}
	b.StopTimer()
	per500 := b.Elapsed().Seconds() * 1000 / float64(b.N)
	time300 := func(st *vulndb.Store) float64 {
		match.Match(ctx, st, p300, match.Options{})
		t := time.Now()
		for range 5 {
			match.Match(ctx, st, p300, match.Options{})
		}
		return time.Since(t).Seconds() * 1000 / 5
	}
	big300 := time300(s)
	// The same 500 packages at versions past every fix: the lookups and range checks
	// without the findings.
	current := scalePackages(500)
	for i := range current {
		current[i].Version = map[string]string{"npm": "999.0.0", "PyPI": "999.0", "Debian:11": "99:999-1", "AlmaLinux:8": "99:999-1.el8", "Alpine:v3.20": "999-r0"}[current[i].Ecosystem]
	}
	match.Match(ctx, s, current, match.Options{})
	tc := time.Now()
	for range 5 {
		match.Match(ctx, s, current, match.Options{})
	}
	current500 := time.Since(tc).Seconds() * 1000 / 5
	small, err := vulndb.OpenPath(ctx, filepath.Join("..", "..", "testdata", "osv"))
	if err != nil {
		b.Fatal(err)
	}
	defer small.Close()
	small300 := time300(small)
	// A whole scan (the demo image, its packages not in the generated data) against the
	// big store and against testdata/osv: what the store's size adds to every scan.
	scanTime := func(dbArg string) float64 {
		run := func() {
			c := exec.Command(bin, "scan", filepath.Join("..", "..", "testdata", "demo", "demo-image.tar"), "--db", dbArg, "--fail-on-issues=false", "-o", os.DevNull)
			c.Stdout, c.Stderr = io.Discard, io.Discard
			c.Run()
		}
		run() // first: indexes verified, zips indexed
		t := time.Now()
		for range 3 {
			run()
		}
		return time.Since(t).Seconds() * 1000 / 3
	}
	b.ReportMetric(scanTime(db), "scan-demo-big-ms")
	b.ReportMetric(scanTime(filepath.Join("..", "..", "testdata", "osv")), "scan-demo-small-ms")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(importS, "import-s")
	b.ReportMetric(rss/1024, "import-peak-RSS-MiB")
	b.ReportMetric(float64(storeBytes)/(1<<20), "store-MiB")
	b.ReportMetric(float64(zipBytes)/(1<<20), "zips-MiB")
	b.ReportMetric(float64(storeBytes)/float64(zipBytes), "store/zips")
	b.ReportMetric(per500, "match500-ms")
	b.ReportMetric(float64(findings), "findings500")
	b.ReportMetric(current500, "match500-current-ms")
	b.ReportMetric(big300, "match300-big-ms")
	b.ReportMetric(small300, "match300-small-ms")
}

// BenchmarkOSVScaleMatch matches the 500 packages of BenchmarkOSVScale, every one
// vulnerable and every one past its fixes, against the generated store, imported once
// into the temporary folder beside the zips (again when its layout changes): the match
// alone, for profiling (-cpuprofile) without the import and the scans.
func BenchmarkOSVScaleMatch(b *testing.B) {
	zips, _ := scaleZips(b)
	db := filepath.Join(os.TempDir(), "imagegate-osv-scale", "db")
	s, err := vulndb.Open(db)
	if err != nil {
		os.RemoveAll(db)
		if _, err := vulndb.Import(context.Background(), db, zips...); err != nil {
			b.Fatal(err)
		}
		if s, err = vulndb.Open(db); err != nil {
			b.Fatal(err)
		}
	}
	defer s.Close()
	vulnerable, current := scalePackages(500), scalePackages(500)
	for i := range current {
		current[i].Version = map[string]string{"npm": "999.0.0", "PyPI": "999.0", "Debian:11": "99:999-1", "AlmaLinux:8": "99:999-1.el8", "Alpine:v3.20": "999-r0"}[current[i].Ecosystem]
	}
	for _, c := range []struct {
		name string
		pkgs []report.Package
	}{{"vulnerable", vulnerable}, {"current", current}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := match.Match(ctx, s, c.pkgs, match.Options{}); err != nil { // warm
				b.Fatal(err)
			}
			findings := 0
			for b.Loop() {
				res, err := match.Match(ctx, s, c.pkgs, match.Options{})
				if err != nil {
					b.Fatal(err)
				}
				findings = len(res.Findings)
			}
			b.ReportMetric(float64(findings), "findings")
		})
	}
}
