package scanner_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/demo"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/layercache"
)

// A layer read from the cache gives the result reading it gives: packages (from package
// databases and from a Go binary), secrets, image checks, base/app attribution.
func TestLayerCache(t *testing.T) {
	reg := imagetest.NewRegistry(t, "", "")
	demoImg, err := demo.Build(imagetest.RepoRoot(t))
	require.NoError(t, err)
	secretLayer := imagetest.Layer(t, imagetest.File("app/.env", []byte("AWS_ACCESS_KEY_ID=AKIA"+"QYLPMN5HHHFPZAM2\nAWS_SECRET_ACCESS_KEY=1tUm636uS1yOEcfP5pvfqJ/ml36mF7AkyHsEU0IQ\n")))
	withSecret, err := mutate.AppendLayers(demoImg, secretLayer)
	require.NoError(t, err)
	ref := reg.Push(t, "demo:1", withSecret, nil)
	other := reg.Push(t, "demo:2", demoImg, nil)

	uncached := scan(t, scanner.Request{Image: ref})
	cache, err := layercache.Open(t.TempDir())
	require.NoError(t, err)
	first := scan(t, scanner.Request{Image: ref}, scanner.WithLayerCache(cache))
	assert.Equal(t, int64(0), cache.Hits())
	assert.Equal(t, int64(4), cache.Misses())
	second := scan(t, scanner.Request{Image: ref}, scanner.WithLayerCache(cache))
	assert.Equal(t, int64(4), cache.Hits(), "every layer comes from the cache the second time")
	for _, r := range []*report.Result{first, second} {
		assert.JSONEq(t, asJSON(t, uncached), asJSON(t, r))
	}
	require.NotEmpty(t, second.Packages)
	assert.NotEmpty(t, findingsOf(second, report.KindSecret), "the secret in the top layer")

	// Another image with the same three layers reads none of them.
	scan(t, scanner.Request{Image: other}, scanner.WithLayerCache(cache))
	assert.Equal(t, int64(7), cache.Hits())

	// An entry copied over another layer's file (a clean layer's over the one with the
	// secret: each entry here over the next one's) is a miss, counted as rejected, and the
	// layer is read again: the secret is still found.
	entries, err := filepath.Glob(filepath.Join(cacheDir(t, cache), "*", "*"))
	require.NoError(t, err)
	require.Len(t, entries, 4)
	contents := make([][]byte, len(entries))
	for i, e := range entries {
		contents[i], err = os.ReadFile(e)
		require.NoError(t, err)
	}
	for i, e := range entries {
		require.NoError(t, os.WriteFile(e, contents[(i+1)%len(entries)], 0o600))
	}
	swapped := scan(t, scanner.Request{Image: ref}, scanner.WithLayerCache(cache))
	assert.Equal(t, int64(7), cache.Hits())
	assert.Equal(t, int64(4), cache.Rejected())
	assert.JSONEq(t, asJSON(t, uncached), asJSON(t, swapped))
	assert.NotEmpty(t, findingsOf(swapped, report.KindSecret))

	// An entry from another cache (its own secret) is a miss too.
	elsewhere, err := layercache.Open(t.TempDir())
	require.NoError(t, err)
	scan(t, scanner.Request{Image: ref}, scanner.WithLayerCache(elsewhere))
	theirs, err := filepath.Glob(filepath.Join(cacheDir(t, elsewhere), "*", "*"))
	require.NoError(t, err)
	for _, e := range theirs {
		b, err := os.ReadFile(e)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(cacheDir(t, cache), filepath.Base(filepath.Dir(e)), filepath.Base(e)), b, 0o600))
	}
	scan(t, scanner.Request{Image: ref}, scanner.WithLayerCache(cache))
	assert.Equal(t, int64(7), cache.Hits(), "restored from another cache: not believed")

	// A damaged entry is a miss, and the layer is read again.
	entries, err = filepath.Glob(filepath.Join(cacheDir(t, cache), "*", "*"))
	require.NoError(t, err)
	require.Len(t, entries, 4)
	for _, e := range entries {
		b, err := os.ReadFile(e)
		require.NoError(t, err)
		b[len(b)-1] ^= 0xff
		require.NoError(t, os.WriteFile(e, b, 0o644))
	}
	again := scan(t, scanner.Request{Image: ref}, scanner.WithLayerCache(cache))
	assert.Equal(t, int64(7), cache.Hits())
	assert.JSONEq(t, asJSON(t, uncached), asJSON(t, again))
}

func asJSON(t *testing.T, r *report.Result) string {
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return string(b)
}

func findingsOf(r *report.Result, k report.Kind) []report.Finding {
	var out []report.Finding
	for _, f := range r.Findings {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

func cacheDir(t *testing.T, c *layercache.Dir) string { return c.Path() }

// The OS file lists (read as they stream by, kept hashed) come back from the cache: a
// Python package python3-yaml's dpkg list names is the OS's in both reads, and no longer
// once a later layer deletes the list.
func TestLayerCacheKeepsOSFileLists(t *testing.T) {
	reg := imagetest.NewRegistry(t, "", "")
	base := append(imagetest.Tree(t, "pkgdb/debian11-base"), imagetest.Symlink("etc/os-release", "../usr/lib/os-release"))
	steps := []imagetest.Step{{Layer: imagetest.Layer(t, base...)}, {Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/debian11-app")...)}}
	owned := reg.Push(t, "debian:owned", imagetest.Image(t, "linux/amd64", steps...), nil)
	steps = append(steps, imagetest.Step{Layer: imagetest.Layer(t, imagetest.Whiteout("var/lib/dpkg/info/python3-yaml.list"))})
	unlisted := reg.Push(t, "debian:unlisted", imagetest.Image(t, "linux/amd64", steps...), nil)

	cache, err := layercache.Open(t.TempDir())
	require.NoError(t, err)
	for _, c := range []struct {
		ref  string
		want bool
	}{{owned, true}, {unlisted, false}} {
		uncached := scan(t, scanner.Request{Image: c.ref})
		for _, r := range []*report.Result{uncached, scan(t, scanner.Request{Image: c.ref}, scanner.WithLayerCache(cache)), scan(t, scanner.Request{Image: c.ref}, scanner.WithLayerCache(cache))} {
			var py *report.Package
			for i, p := range r.Packages {
				if p.Name == "PyYAML" {
					py = &r.Packages[i]
				}
			}
			require.NotNil(t, py, c.ref)
			assert.Equal(t, c.want, py.OSOwned, c.ref)
			assert.JSONEq(t, asJSON(t, uncached), asJSON(t, r))
		}
	}
	assert.Positive(t, cache.Hits())
}
