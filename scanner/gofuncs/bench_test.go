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

// BenchmarkReadLargeBinary reads imagegate's own binary (about 50 MB unstripped): the
// target is under a second and 64 MiB of heap over the binary's own bytes, which the scan
// holds anyway. Reports peak-MiB (heap in use at the peak, less the binary: mostly
// garbage the collector has not taken yet), retained-MiB (what the table keeps until
// matching, for every Go binary of an image) and MB (the binary's size).
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
	data, err := os.ReadFile(bin)
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
		t, err := gofuncs.Read(data)
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
	b.ReportMetric(float64(len(data))/1e6, "MB")
}
