package gofuncs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/peakheap"
	"github.com/imagegate/imagegate/scanner/gofuncs"
)

// BenchmarkReadLargeBinary reads imagegate's own binary (about 50 MB unstripped) from its
// file, as a scan reads a large binary from its temporary file: the target is under a
// second and a peak heap that does not grow with the binary. Reports peak-MiB (heap in use
// at the peak: the blocks held, the names, garbage the collector has not taken yet),
// retained-MiB (what the table keeps until matching, for every Go binary of an image) and
// MB (the binary's size).
func BenchmarkReadLargeBinary(b *testing.B) {
	if _, err := exec.LookPath("go"); err != nil {
		b.Skip("no go toolchain")
	}
	bin := filepath.Join(b.TempDir(), "imagegate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/imagegate")
	cmd.Dir = imagetest.RepoRoot(b)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	f, err := os.Open(bin)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse
	var peak, retained uint64
	b.ResetTimer()
	for b.Loop() {
		stop := peakheap.Start()
		t, err := gofuncs.Read(f, st.Size())
		if err != nil || t.Packages() == 0 {
			b.Fatal(err)
		}
		peak = max(peak, stop())
		runtime.GC()
		runtime.ReadMemStats(&ms)
		retained = max(retained, ms.HeapInuse-min(ms.HeapInuse, before))
		runtime.KeepAlive(t)
	}
	b.ReportMetric(float64(peak-min(peak, before))/(1<<20), "peak-MiB")
	b.ReportMetric(float64(retained)/(1<<20), "retained-MiB")
	b.ReportMetric(float64(st.Size())/1e6, "MB")
}
