package vulndb_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	gcrname "github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/hostile"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/vulndb"
	"github.com/imagegate/imagegate/trust"
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
	digest, err := vulndb.Push(ctx, src, ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(digest, "sha256:"))

	// A pull installs every ecosystem, ready to query.
	dst := t.TempDir()
	got, err := vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err)
	assert.Equal(t, digest, got.Digest)
	assert.ElementsMatch(t, []string{"Alpine", "Debian", "Go", "Maven", "PyPI", "crates.io", "npm"}, got.Ecosystems)
	s, err := vulndb.Open(dst)
	require.NoError(t, err)
	recs, err := s.Query("Alpine:v3.20", "openssl")
	require.NoError(t, err)
	assert.NotEmpty(t, recs)
	sc, found, err := s.Score("", []string{"CVE-2021-3711"})
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "RUSTSEC-2021-0097", sc.Source)
	s.Close()
	again, err := vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err)
	assert.True(t, again.Unchanged)

	// New data under the same tag, served altered: the pull fails and the data stays.
	before, err := os.ReadFile(filepath.Join(dst, "npm.db"))
	require.NoError(t, err)
	_, err = vulndb.Import(ctx, src, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	_, err = vulndb.Push(ctx, src, ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err)
	tamper.Store(true)
	_, err = vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{AllowUnsigned: true})
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
	s, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err)
	info, ok := s.Info("npm")
	require.True(t, ok)
	assert.Greater(t, info.Records, 30)
	assert.Equal(t, ref, s.Unsigned, "used unsigned: scans warn of it")
	s.Close()
	srv.Close()
	s, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err, "the cached copy serves when the registry is gone")
	s.Close()
	_, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+host+"/imagegate/other:1", vulndb.RemoteOptions{AllowUnsigned: true})
	require.Error(t, err, "nothing cached for another reference")
}

// An image that is not a database artifact is refused, naming what it is.
func TestPullRefusesOtherArtifacts(t *testing.T) {
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Push(t, "app:1", imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("a", []byte("a")))}), nil)
	_, err := vulndb.Pull(context.Background(), t.TempDir(), ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "not an imagegate database")
}

// A database artifact whose layer is a gzip bomb (4 MB that inflate to 4 GiB) is refused
// once it expands past its bound, nothing past the bound is written, and the data the
// folder held stays as it was.
func TestPullRefusesABombLayer(t *testing.T) {
	ctx := context.Background()
	reg := imagetest.NewRegistry(t, "", "")
	dst := t.TempDir()
	src := t.TempDir()
	_, err := vulndb.Import(ctx, src, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	good := reg.Host + "/imagegate/db:good"
	_, err = vulndb.Push(ctx, src, good, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err)
	_, err = vulndb.Pull(ctx, dst, good, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err)
	before, err := os.ReadFile(filepath.Join(dst, "npm.db"))
	require.NoError(t, err)

	// The bomb: a tar whose npm.db is 4 GiB of zeros, in 4 MB.
	blob := hostile.GzipBomb(t, "npm.db", 4<<30)
	layer, err := partialLayer(blob)
	require.NoError(t, err)
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), vulndb.ArtifactType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: vulndb.LayerType, Annotations: map[string]string{vulndb.AnnotationEcosystem: "npm"}})
	require.NoError(t, err)
	art := mutate.Annotations(img, map[string]string{vulndb.AnnotationFormat: strconv.Itoa(vulndb.FormatVersion)}).(v1.Image)
	bomb := reg.Push(t, "imagegate/db:bomb", art, nil)

	_, err = vulndb.Pull(ctx, dst, bomb, vulndb.RemoteOptions{AllowUnsigned: true})
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "decompression bomb")
	assert.Contains(t, err.Error(), "the previous data is kept")
	after, err := os.ReadFile(filepath.Join(dst, "npm.db"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(before, after))
	entries, err := os.ReadDir(dst)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".pull-"), "the temporary folder is gone: %s", e.Name())
	}
}

// No path of the pushing machine goes into the artifact: a local import's source is its
// file name, in the annotations and in the description inside the layer.
func TestArtifactHoldsNoLocalPath(t *testing.T) {
	ctx := context.Background()
	reg := imagetest.NewRegistry(t, "", "")
	src := t.TempDir()
	zip := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip")
	_, err := vulndb.Import(ctx, src, zip)
	require.NoError(t, err)
	ref := reg.Host + "/imagegate/db:1"
	_, err = vulndb.Push(ctx, src, ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err)
	r, err := gcrname.ParseReference(ref)
	require.NoError(t, err)
	img, err := remote.Image(r)
	require.NoError(t, err)
	m, err := img.RawManifest()
	require.NoError(t, err)
	assert.NotContains(t, string(m), filepath.Dir(zip))
	layers, err := img.Layers()
	require.NoError(t, err)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	all, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.NotContains(t, string(all), filepath.Dir(zip))
	assert.Contains(t, string(all), `"source": "all.zip"`)
	dst := t.TempDir()
	_, err = vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err, "the rewritten description still vouches for the index")
}

// partialLayer is a layer of compressed bytes whose diff ID is not computed (a bomb's
// would take inflating it): the registry does not check one, and Pull does not use it.
func partialLayer(compressed []byte) (v1.Layer, error) {
	d, _, err := v1.SHA256(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	return static{compressed, d}, nil
}

type static struct {
	b []byte
	d v1.Hash
}

func (s static) Digest() (v1.Hash, error)             { return s.d, nil }
func (s static) DiffID() (v1.Hash, error)             { return s.d, nil }
func (s static) Compressed() (io.ReadCloser, error)   { return io.NopCloser(bytes.NewReader(s.b)), nil }
func (s static) Uncompressed() (io.ReadCloser, error) { return nil, errors.New("not inflated") }
func (s static) Size() (int64, error)                 { return int64(len(s.b)), nil }
func (s static) MediaType() (types.MediaType, error)  { return vulndb.LayerType, nil }

// A database artifact is used only when its signature verifies against the configured
// key: a decoy pushed over the tag (unsigned, or signed by another key) is refused with
// the previous data kept, and so is any artifact when no key is configured.
func TestPullVerifiesTheSignature(t *testing.T) {
	ctx := context.Background()
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Host + "/imagegate/db:latest"
	team, attacker := imagetest.NewSigner(t), imagetest.NewSigner(t)
	src := t.TempDir()
	_, err := vulndb.Import(ctx, src, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	_, err = vulndb.Push(ctx, src, ref, vulndb.RemoteOptions{Signer: team.Key})
	require.NoError(t, err)

	dst := t.TempDir()
	_, err = vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{})
	require.Error(t, err, "no key configured")
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Equal(t, "db-verify-key", failure.SettingOf(err))
	_, err = vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{Verifier: attacker.Verifier})
	require.Error(t, err, "another key")
	got, err := vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{Verifier: team.Verifier})
	require.NoError(t, err)
	assert.Equal(t, []string{"npm"}, got.Ecosystems)
	signed, ok := vulndb.SignedBy(dst)
	require.True(t, ok)
	require.Len(t, signed.Ecosystems, 1)
	assert.Greater(t, signed.Ecosystems[0].Records, 30)
	before, err := os.ReadFile(filepath.Join(dst, "npm.db"))
	require.NoError(t, err)

	// The decoy: one unrelated record, pushed over the tag unsigned, then signed by another
	// key.
	decoy := t.TempDir()
	_, err = vulndb.Import(ctx, decoy, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv-pypi", "PyPI", "all.zip"))
	require.NoError(t, err)
	for _, o := range []vulndb.RemoteOptions{{}, {Signer: attacker.Key}} {
		_, err = vulndb.Push(ctx, decoy, ref, o)
		require.NoError(t, err)
		_, err = vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{Verifier: team.Verifier})
		require.Error(t, err)
		assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
		assert.Contains(t, err.Error(), "not signed as required")
		after, err := os.ReadFile(filepath.Join(dst, "npm.db"))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(before, after), "the previous data is kept")
	}
	_, err = vulndb.Pull(ctx, dst, ref, vulndb.RemoteOptions{AllowUnsigned: true})
	require.NoError(t, err, "the explicit opt-out")
}

// The release workflow's way: the artifact signed keyless is used for the workflow's
// identity under the trusted root, and refused for another workflow's.
func TestPullVerifiesAKeylessSignature(t *testing.T) {
	ctx := context.Background()
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Host + "/imagegate/db:latest"
	ss := imagetest.NewSigstore(t)
	const workflow = "https://github.com/imagegate/imagegate/.github/workflows/db.yml@refs/heads/main"
	src := t.TempDir()
	_, err := vulndb.Import(ctx, src, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	signer := trust.Keyless{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IDToken: ss.Token(workflow, trust.PublicIssuerGitHub)}
	_, err = vulndb.Push(ctx, src, ref, vulndb.RemoteOptions{Signer: signer})
	require.NoError(t, err)

	other, err := trust.IdentityVerifier(ss.TrustedRoot, trust.Identity{Subject: strings.Replace(workflow, "db.yml", "evil.yml", 1), Issuer: trust.PublicIssuerGitHub})
	require.NoError(t, err)
	_, err = vulndb.Pull(ctx, t.TempDir(), ref, vulndb.RemoteOptions{Verifier: other})
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	v, err := trust.IdentityVerifier(ss.TrustedRoot, trust.Identity{SubjectRegexp: `https://github\.com/imagegate/imagegate/\.github/workflows/db\.yml@refs/heads/.*`, Issuer: trust.PublicIssuerGitHub})
	require.NoError(t, err)
	got, err := vulndb.Pull(ctx, t.TempDir(), ref, vulndb.RemoteOptions{Verifier: v})
	require.NoError(t, err)
	assert.Equal(t, []string{"npm"}, got.Ecosystems)
}

// A database folder restored from a cache is believed only as far as the signature kept
// beside it goes: its indexes swapped for others (the folder's marks kept) are pulled
// again while the registry answers, and refused (exit 3) when it does not; the genuine
// copy still serves without the registry.
func TestRestoredCopyIsCheckedAgainstItsSignature(t *testing.T) {
	ctx := context.Background()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Host + "/imagegate/db:latest"
	team := imagetest.NewSigner(t)
	src := t.TempDir()
	_, err := vulndb.Import(ctx, src, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	_, err = vulndb.Push(ctx, src, ref, vulndb.RemoteOptions{Signer: team.Key})
	require.NoError(t, err)
	o := vulndb.RemoteOptions{Verifier: team.Verifier}
	s, err := vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, o)
	require.NoError(t, err)
	want, ok := s.Info("npm")
	require.True(t, ok)
	s.Close()
	marks, err := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "*", "*", "*", ".artifact"))
	require.NoError(t, err)
	require.Len(t, marks, 1)
	cached := filepath.Dir(marks[0])

	// The forgery: one npm record in place of the signed data, the folder's marks kept.
	forged := t.TempDir()
	_, err = vulndb.Import(ctx, forged, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv-records"))
	require.NoError(t, err)
	forge := func() {
		t.Helper()
		entries, err := os.ReadDir(forged)
		require.NoError(t, err)
		for _, e := range entries {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				b, err := os.ReadFile(filepath.Join(forged, e.Name()))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(cached, e.Name()), b, 0o644))
			}
		}
	}
	forge()
	s, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, o)
	require.NoError(t, err)
	got, ok := s.Info("npm")
	s.Close()
	require.True(t, ok)
	assert.Equal(t, want.IndexSHA256, got.IndexSHA256, "pulled again: the signed index")

	// A signed index taken away: pulled again.
	require.NoError(t, os.Remove(filepath.Join(cached, "npm.json")))
	s, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, o)
	require.NoError(t, err)
	_, ok = s.Info("npm")
	s.Close()
	assert.True(t, ok, "pulled again")

	// 'db pull' into a folder of the user's own keeps its other ecosystems, and finds it
	// current the next time.
	mine := t.TempDir()
	_, err = vulndb.Import(ctx, mine, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv-pypi", "PyPI", "all.zip"))
	require.NoError(t, err)
	_, err = vulndb.Pull(ctx, mine, ref, o)
	require.NoError(t, err)
	again, err := vulndb.Pull(ctx, mine, ref, o)
	require.NoError(t, err)
	assert.True(t, again.Unchanged)
	s, err = vulndb.Open(mine)
	require.NoError(t, err)
	_, ok = s.Info("PyPI")
	s.Close()
	assert.True(t, ok, "the user's own data stays")

	reg.Server.Close()
	s, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, o)
	require.NoError(t, err, "the genuine copy serves without the registry")
	s.Close()
	forge()
	_, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, o)
	require.Error(t, err, "the forged copy is not used without the registry")
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "is not used")

	// The signature kept beside a copy is checked too: another key's is refused.
	other := imagetest.NewSigner(t)
	_, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, vulndb.RemoteOptions{Verifier: other.Verifier})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not verify")

	// A kept signature grown past any bundle's size is not read whole: refused as such.
	require.NoError(t, os.WriteFile(filepath.Join(cached, ".signature.json"), bytes.Repeat([]byte(" "), 2<<20), 0o644))
	_, err = vulndb.OpenPath(ctx, vulndb.ArtifactScheme+ref, o)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "no signature is kept beside it that can be read")
}
