package vulndb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/imagegate/imagegate/scanner/vulndb"
)

// sharedOSV finds ../shared/osv (the full demo and test data); benchmarks that need it
// skip without it.
func sharedOSV(b *testing.B) []string {
	wd, _ := os.Getwd()
	zips, _ := filepath.Glob(filepath.Join(wd, "..", "..", "..", "shared", "osv", "*", "all.zip"))
	if len(zips) == 0 {
		b.Skip("../shared/osv not found")
	}
	return zips
}

// BenchmarkImportShared imports every export in ../shared/osv into a fresh database.
func BenchmarkImportShared(b *testing.B) {
	zips := sharedOSV(b)
	var records int
	var size int64
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		infos, err := vulndb.Import(context.Background(), dir, zips...)
		if err != nil {
			b.Fatal(err)
		}
		records, size = 0, 0
		for _, in := range infos {
			records += in.Records
			size += in.Size
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(size)/(1<<20), "index-MiB")
	b.ReportMetric(float64(records), "records")
}
