package inventory_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/peakheap"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/inventory"
)

// BenchmarkInventoryLargeApp inventories an image whose app layer holds 5,000 npm
// packages (the demo app's real package.json files, each copied under many parents) and
// 200 Java archives (the real commons-cli jar): walk and analysis together.
func BenchmarkInventoryLargeApp(b *testing.B) {
	var pkgJSON [][]byte
	for _, e := range imagetest.Tree(b, "npm/demo-app/node_modules") {
		if len(e.Path) > 13 && e.Path[len(e.Path)-13:] == "/package.json" {
			pkgJSON = append(pkgJSON, e.Body)
		}
	}
	jar := imagetest.Fixture(b, "langs/commons-cli-1.5.0.jar")
	var entries []imagetest.Entry
	for i := range 5000 {
		entries = append(entries, imagetest.File(fmt.Sprintf("app/node_modules/p%04d/node_modules/dep/package.json", i), pkgJSON[i%len(pkgJSON)]))
	}
	for i := range 200 {
		entries = append(entries, imagetest.File(fmt.Sprintf("app/lib/lib-%03d.jar", i), jar))
	}
	img := imagetest.Image(b, "linux/amd64",
		imagetest.Step{CreatedBy: "ADD rootfs.tar.xz /", Layer: imagetest.Layer(b, imagetest.Tree(b, "pkgdb/debian11-base")...)},
		imagetest.Step{CreatedBy: "COPY . /app", Layer: imagetest.Layer(b, entries...)},
	)
	runtime.GC()
	b.ResetTimer()
	var peak uint64
	for range b.N {
		a, err := inventory.New(0)
		if err != nil {
			b.Fatal(err)
		}
		stop := peakheap.Start()
		idx, err := image.Walk(context.Background(), &image.Image{Image: img}, a, image.WithConsumer(a))
		if err != nil {
			b.Fatal(err)
		}
		inv, err := a.Analyze(context.Background(), idx, nil)
		peak = max(peak, stop())
		if err != nil {
			b.Fatal(err)
		}
		if n := len(inv.Packages); n < 5200 {
			b.Fatalf("%d packages", n)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
