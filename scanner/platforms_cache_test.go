package scanner_test

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/layercache"
)

// The platforms of an index share a layer cache: the demo's three layers, shared by its
// amd64 and arm64 images, are analysed once (three misses) and taken from the cache by
// the other platform (three hits).
func TestPlatformsShareTheirLayers(t *testing.T) {
	reg := imagetest.NewRegistry(t, "", "")
	demo, err := tarball.ImageFromPath(imagetest.RepoRoot(t)+"/testdata/demo/demo-image.tar", nil)
	require.NoError(t, err)
	plat := func(arch string) v1.Image {
		cf, _ := demo.ConfigFile()
		cf = cf.DeepCopy()
		cf.Architecture = arch
		img, _ := mutate.ConfigFile(demo, cf)
		return img
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: plat("amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: plat("arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref := reg.Push(t, "multi:1", nil, idx)
	c, err := layercache.Open(t.TempDir() + "/l")
	require.NoError(t, err)
	req := scanner.Request{Registry: scanner.Registry{Platform: image.AllPlatforms}}
	req.Data.DB = imagetest.RepoRoot(t) + "/testdata/osv"
	req.Data.MaxAge = 1 << 62
	rs, _, err := scanner.New(scanner.WithLayerCache(c)).ScanImages(context.Background(), req, []string{ref})
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, int64(3), c.Misses(), "each shared layer analysed once")
	assert.Equal(t, int64(3), c.Hits(), "and taken from the cache by the other platform")
}
