package image_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/imagegate/internal/imagebuild"
	"github.com/imagegate/imagegate/internal/peakheap"
	"github.com/imagegate/imagegate/scanner/analyzer"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/inventory"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// benchImage builds (once, cached in the temp dir) an OCI layout of `layers` gzip layers
// holding `total` bytes of text-like file content, plus a dpkg database in the first
// layer. IMAGEGATE_BENCH_MB sets the size (default 1024).
func benchImage(b *testing.B, layers int) (dir string, total int64) {
	b.Helper()
	mb := int64(1024)
	if s := os.Getenv("IMAGEGATE_BENCH_MB"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		mb = v
	}
	total = mb << 20
	dir = filepath.Join(os.TempDir(), fmt.Sprintf("imagegate-bench-%dMiB-%dlayers", mb, layers))
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir, total
	}
	os.RemoveAll(dir)
	tmp := dir + ".building"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		b.Fatal(err)
	}
	words := []string{"container", "layer", "image", "package", "version", "security", "registry",
		"manifest", "digest", "the", "of", "and", "a", "to", "in", "is", "for", "with", "0", "1", "\n"}
	perLayer := total / int64(layers)
	const fileSize = 48 << 10
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for l := 0; l < layers; l++ {
		rng := rand.New(rand.NewPCG(uint64(l), 42))
		var entries []imagebuild.Entry
		if l == 0 {
			entries = append(entries, imagebuild.File("var/lib/dpkg/status", imagetestStatus(b)))
		}
		for n := int64(0); n*fileSize < perLayer; n++ {
			body := make([]byte, 0, fileSize)
			for len(body) < fileSize {
				body = append(body, words[rng.IntN(len(words))]...)
				body = append(body, ' ')
			}
			entries = append(entries, imagebuild.File(fmt.Sprintf("data/l%02d/f%05d.txt", l, n), body[:fileSize]))
		}
		p := filepath.Join(tmp, fmt.Sprintf("layer%02d.tar", l))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := imagebuild.WriteTar(f, entries...); err != nil {
			b.Fatal(err)
		}
		f.Close()
		layer, err := tarball.LayerFromFile(p, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			b.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			b.Fatal(err)
		}
	}
	lp, err := layout.Write(filepath.Join(tmp, "oci"), empty.Index)
	if err != nil {
		b.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "oci"), dir); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir, total
}

func imagetestStatus(b *testing.B) []byte {
	wd, _ := os.Getwd()
	data, err := os.ReadFile(filepath.Join(wd, "..", "..", "testdata", "pkgdb", "debian11-app", "var", "lib", "dpkg", "status"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkWalkWithSecrets walks the same image with the secret scanner reading every
// text file of every layer (target: within 1.5x of BenchmarkWalk).
func BenchmarkWalkWithSecrets(b *testing.B) {
	dir, total := benchImage(b, 20)
	det, err := secrets.New()
	if err != nil {
		b.Fatal(err)
	}
	list, err := analyzer.List(det, analyzer.Options{Config: true, Secrets: true})
	if err != nil {
		b.Fatal(err)
	}
	req, opts := analyzer.WalkOptions(list)
	peak := walkPeak(b, dir, req, opts...)
	b.SetBytes(total)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkWalk walks a generated 1 GiB, 20-layer image with the inventory analyzer's
// needs and compares it with `gzip -dc` over the same layer blobs (one process per layer,
// one after the other: a single decompression pass).
func BenchmarkWalk(b *testing.B) {
	dir, total := benchImage(b, 20)
	inv, err := inventory.New(0)
	if err != nil {
		b.Fatal(err)
	}
	img, err := image.Open(context.Background(), "oci-dir:"+dir)
	if err != nil {
		b.Fatal(err)
	}

	gzipTime := time.Duration(0)
	if gz, err := exec.LookPath("gzip"); err == nil {
		layers, _ := img.Layers()
		start := time.Now()
		for _, l := range layers {
			d, _ := l.Digest()
			cmd := exec.Command("sh", "-c", gz+" -dc \"$1\" > /dev/null", "sh", filepath.Join(dir, "blobs", d.Algorithm, d.Hex))
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("gzip -dc: %v %s", err, out)
			}
		}
		gzipTime = time.Since(start)
	}

	peak := walkPeak(b, dir, inv)
	b.StopTimer()
	perOp := b.Elapsed() / time.Duration(b.N)
	b.SetBytes(total)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	if gzipTime > 0 {
		b.ReportMetric(gzipTime.Seconds(), "gzip-dc-s")
		b.ReportMetric(perOp.Seconds()/gzipTime.Seconds(), "x-gzip-dc")
	}
}

// BenchmarkWalkKept walks images whose kept files (distroless-style dpkg databases, one
// file a package set: the real debian11-app status, copied) add up to 16, 64 and 192 MiB,
// with the inventory analyzer's needs. The peak heap stays near KeepInMemory whatever the
// total: the rest waits on disk.
func BenchmarkWalkKept(b *testing.B) {
	inv, err := inventory.New(0)
	if err != nil {
		b.Fatal(err)
	}
	status := imagetestStatus(b)
	for _, mb := range []int{16, 64, 192} {
		b.Run(fmt.Sprintf("%dMiB", mb), func(b *testing.B) {
			dir := filepath.Join(os.TempDir(), fmt.Sprintf("imagegate-bench-kept-%dMiB", mb))
			if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
				os.RemoveAll(dir)
				var img v1.Image = mutate.MediaType(empty.Image, types.OCIManifestSchema1)
				const layers = 4
				copies := (mb << 20) / len(status) / layers
				for l := range layers {
					p := filepath.Join(b.TempDir(), "layer.tar")
					var entries []imagebuild.Entry
					for c := range copies {
						entries = append(entries, imagebuild.File(fmt.Sprintf("var/lib/dpkg/status.d/l%d-%05d", l, c), status))
					}
					writeLayer(b, p, entries)
					layer, err := tarball.LayerFromFile(p, tarball.WithMediaType(types.OCILayer))
					if err != nil {
						b.Fatal(err)
					}
					if img, err = mutate.AppendLayers(img, layer); err != nil {
						b.Fatal(err)
					}
				}
				lp, err := layout.Write(dir, empty.Index)
				if err != nil {
					b.Fatal(err)
				}
				if err := lp.AppendImage(img); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			peak := walkPeak(b, dir, inv)
			b.SetBytes(int64(mb) << 20)
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// walkPeak walks the OCI layout at dir b.N times, timed, and returns the peak heap in use.
func walkPeak(b *testing.B, dir string, req image.Requirer, opts ...image.WalkOption) uint64 {
	img, err := image.Open(context.Background(), "oci-dir:"+dir)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		stop := peakheap.Start()
		idx, err := image.Walk(context.Background(), img, req, opts...)
		peak = max(peak, stop())
		if err != nil {
			b.Fatal(err)
		}
		idx.Close()
	}
	return peak
}

func writeLayer(b *testing.B, p string, entries []imagebuild.Entry) {
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := imagebuild.WriteTar(f, entries...); err != nil {
		b.Fatal(err)
	}
}
