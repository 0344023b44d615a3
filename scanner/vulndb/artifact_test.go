package vulndb_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// tamperingRegistry is an in-process registry whose blob downloads can be altered on the
// way (one byte flipped), as a compromised mirror or proxy would.
func tamperingRegistry(t *testing.T) (*httptest.Server, *atomic.Bool) {
	var tamper atomic.Bool
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tamper.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		if len(b) > 100 {
			b[len(b)/2] ^= 0xff
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s, &tamper
}

func TestArtifactPushPull(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ctx := context.Background()
	srv, tamper := tamperingRegistry(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/imagegate/db:latest"

	src := t.TempDir()
	_, err := vulndb.Import(ctx, src, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv-records"))
	require.NoError(t, err)
	digest, err := vulndb.Push(ctx, src, ref, vulndb.RemoteOptions{})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(digest, "sha256:"))

	// A pull installs every ecosystem, ready to query.
	dst := t.TempDir()
	got, err := vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{})
	require.NoError(t, err)
	assert.Equal(t, digest, got.Digest)
	assert.ElementsMatch(t, []string{"Alpine", "Debian", "Go", "Maven", "PyPI", "crates.io", "npm"}, got.Ecosystems)
	s, err := vulndb.Open(dst)
	require.NoError(t, err)
	recs, err := s.Query("Alpine:v3.20", "openssl")
	require.NoError(t, err)
	assert.NotEmpty(t, recs)
	sc, found, err := s.Score([]string{"CVE-2021-3711"})
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "RUSTSEC-2021-0097", sc.Source)
	s.Close()
	again, err := vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{})
	require.NoError(t, err)
	assert.True(t, again.Unchanged)

	// New data under the same tag, served altered: the pull fails and the data stays.
	before, err := os.ReadFile(filepath.Join(dst, "npm.db"))
	require.NoError(t, err)
	_, err = vulndb.Import(ctx, src, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	_, err = vulndb.Push(ctx, src, ref, vulndb.RemoteOptions{})
	require.NoError(t, err)
	tamper.Store(true)
	_, err = vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{})
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "the previous data is kept")
	after, err := os.ReadFile(filepath.Join(dst, "npm.db"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(before, after))
	s, err = vulndb.Open(dst)
	require.NoError(t, err, "the previous data still opens")
	s.Close()
	tamper.Store(false)

	// --db oci://REF: pulled into the user cache, then used from there when the registry
	// cannot be reached.
	s, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref)
	require.NoError(t, err)
	info, ok := s.Info("npm")
	require.True(t, ok)
	assert.Greater(t, info.Records, 30)
	s.Close()
	srv.Close()
	s, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref)
	require.NoError(t, err, "the cached copy serves when the registry is gone")
	s.Close()
	_, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+host+"/imagegate/other:1")
	require.Error(t, err, "nothing cached for another reference")
}

// An image that is not a database artifact is refused, naming what it is.
func TestPullRefusesOtherArtifacts(t *testing.T) {
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Push(t, "app:1", imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("a", []byte("a")))}), nil)
	_, err := vulndb.Pull(context.Background(), t.TempDir(), ref, vulndb.RemoteOptions{})
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "not an imagegate database")
}
