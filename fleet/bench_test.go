package fleet_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/fleet"
	"github.com/imagegate/imagegate/internal/fleettest"
	"github.com/imagegate/imagegate/internal/imagetest"
)

// BenchmarkRegistryScan scans 100 application images built on 3 bases (each base 32 MiB
// of libraries) with the layer cache, and the floor: the 3 bases plus the 100 application
// layers alone (each in an image of its own), scanned once each. Target: the fleet in at
// most 2× the floor (metric x-floor).
func BenchmarkRegistryScan(b *testing.B) {
	const padding = 32 << 20
	root := imagetest.RepoRoot(b)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	b.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	imgs, err := fleettest.Build(root, host, fleettest.Spec{Repositories: 4, Tags: 25, BasePadding: padding})
	require.NoError(b, err)
	push := func(repoTag string, img v1.Image) {
		ref, err := name.ParseReference(host + "/" + repoTag)
		require.NoError(b, err)
		require.NoError(b, remote.Write(ref, img))
	}
	for _, im := range imgs {
		push("fleet/"+im.Name, im.Image)
	}
	// The floor: the bases, and each application's own layer as an image of its own.
	for i, im := range imgs {
		if i < len(fleettest.Bases) {
			push("floor/"+im.Name, im.Image)
			continue
		}
		layers, err := im.Image.Layers()
		require.NoError(b, err)
		alone, err := mutate.AppendLayers(empty.Image, layers[len(layers)-1])
		require.NoError(b, err)
		push("floor/"+im.Name, alone)
	}
	repos := func(prefix string) []string {
		var out []string
		seen := map[string]bool{}
		for _, im := range imgs {
			r := host + "/" + prefix + "/" + strings.SplitN(im.Name, ":", 2)[0]
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
		return out
	}
	ctx := context.Background()
	scan := func(b *testing.B, targets []string, cache string) (time.Duration, int) {
		start := time.Now()
		f, err := fleet.Run{Targets: targets, Shard: fleet.Shard{Index: 1, Count: 1}, LayerCache: cache,
			Options: fleet.Options{Request: scanOptions(b), Dir: b.TempDir()}}.Do(ctx)
		require.NoError(b, err)
		return time.Since(start), len(f.Images)
	}
	// Index the database's ecosystems once, outside the measure.
	scan(b, repos("floor"), "")
	b.ResetTimer()
	var fleetTime, floorTime time.Duration
	for b.Loop() {
		d, n := scan(b, repos("fleet"), b.TempDir())
		require.Equal(b, 103, n)
		fleetTime += d
		d, n = scan(b, repos("floor"), "")
		require.Equal(b, 103, n)
		floorTime += d
	}
	b.ReportMetric(fleetTime.Seconds()/float64(b.N), "s-fleet/op")
	b.ReportMetric(floorTime.Seconds()/float64(b.N), "s-floor/op")
	b.ReportMetric(fleetTime.Seconds()/floorTime.Seconds(), "x-floor")
}
