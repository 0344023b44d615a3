package image_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/image"
)

func buildImage(t *testing.T, platform string) (steps []imagetest.Step) {
	return []imagetest.Step{
		{CreatedBy: "ADD base /", Layer: imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=test\nARCH="+platform+"\n")))},
		{CreatedBy: "RUN add app", Layer: imagetest.Layer(t, imagetest.File("app/bin", []byte("#!/bin/sh\n")))},
	}
}

func openAndWalk(t *testing.T, ref string, opts ...image.Option) (*image.Image, *image.Index) {
	t.Helper()
	img, err := image.Open(context.Background(), ref, opts...)
	require.NoError(t, err, ref)
	idx, err := image.Walk(context.Background(), img, keepAll)
	require.NoError(t, err, ref)
	return img, idx
}

func TestOpenEveryForm(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	wantDigest, err := img.Digest()
	require.NoError(t, err)
	wantID, err := img.ConfigName()
	require.NoError(t, err)

	archive := imagetest.DockerArchive(t, img, "example.com/app:1")
	ociDir := imagetest.OCIDir(t, img, nil)
	ociArchive := imagetest.OCIArchive(t, img, nil)
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Push(t, "app:1", img, nil)

	cases := []struct {
		ref       string
		transport image.Transport
		digest    bool
	}{
		{"docker-archive:" + archive, image.DockerArchive, false},
		{archive, image.DockerArchive, false},
		{"oci-dir:" + ociDir, image.OCIDir, true},
		{ociDir, image.OCIDir, true},
		{"oci-archive:" + ociArchive, image.OCIArchive, true},
		{ociArchive, image.OCIArchive, true},
		{ref, image.Registry, true},
		{"registry:" + ref, image.Registry, true},
	}
	for _, c := range cases {
		t.Run(string(c.transport)+"/"+filepath.Base(c.ref), func(t *testing.T) {
			got, idx := openAndWalk(t, c.ref)
			assert.Equal(t, c.transport, got.Transport)
			assert.Equal(t, wantID.String(), got.ID)
			assert.Equal(t, "linux/amd64", got.Platform)
			if c.digest {
				assert.Equal(t, wantDigest.String(), got.Digest)
			} else {
				assert.Empty(t, got.Digest)
			}
			assert.Equal(t, []string{"app/bin", "etc/os-release"}, finalPaths(idx))
			require.Len(t, idx.Layers, 2)
			assert.Equal(t, "RUN add app", idx.Layers[1].CreatedBy)
			assert.NotEmpty(t, idx.Layers[1].DiffID)
		})
	}
}

func TestRegistryBasicAuth(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	reg := imagetest.NewRegistry(t, "ci-bot", "s3cret")
	ref := reg.Push(t, "private/app:1", img, nil, remote.WithAuth(&authn.Basic{Username: "ci-bot", Password: "s3cret"}))

	got, _ := openAndWalk(t, ref, image.WithBasicAuth("ci-bot", "s3cret"), image.WithRegistries(image.RegistryOf(ref)))
	assert.Equal(t, image.Registry, got.Transport)

	// The keychain is the default source of credentials.
	kc := staticKeychain{authn.Basic{Username: "ci-bot", Password: "s3cret"}}
	openAndWalk(t, ref, image.WithKeychain(kc))

	for name, opts := range map[string][]image.Option{
		"wrong password": {image.WithBasicAuth("ci-bot", "nope"), image.WithRegistries(image.RegistryOf(ref))},
		"no credentials": {image.WithKeychain(authn.NewMultiKeychain())},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := image.Open(context.Background(), ref, opts...)
			require.Error(t, err)
			assert.Equal(t, failure.ExitInput, failure.Code(err))
			assert.Contains(t, err.Error(), "credentials")
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}

type staticKeychain struct{ basic authn.Basic }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return &k.basic, nil }

func TestMultiPlatformIndex(t *testing.T) {
	amd := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	arm := imagetest.Image(t, "linux/arm64/v8", buildImage(t, "linux/arm64/v8")...)
	idx := imagetest.Index(t, amd, arm)
	wantIdx, err := idx.Digest()
	require.NoError(t, err)
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Push(t, "multi:1", nil, idx)
	dir := imagetest.OCIDir(t, nil, idx)

	for _, src := range []string{ref, "oci-dir:" + dir, "oci-archive:" + imagetest.OCIArchive(t, nil, idx)} {
		got, walked := openAndWalk(t, src)
		assert.Equal(t, "linux/amd64", got.Platform, "default platform")
		f, ok := walked.Stat("etc/os-release")
		require.True(t, ok)
		assert.Contains(t, kept(t, f), "linux/amd64")

		got, walked = openAndWalk(t, src, image.WithPlatform("linux/arm64"))
		assert.Equal(t, "linux/arm64/v8", got.Platform)
		f, _ = walked.Stat("etc/os-release")
		assert.Contains(t, kept(t, f), "linux/arm64")

		_, err := image.Open(context.Background(), src, image.WithPlatform("linux/s390x"))
		require.Error(t, err)
		assert.Equal(t, failure.ExitInput, failure.Code(err))
		assert.Contains(t, err.Error(), "available: linux/amd64, linux/arm64/v8")
	}
	got, _ := openAndWalk(t, ref)
	assert.Equal(t, wantIdx.String(), got.IndexDigest)
}

func TestSinglePlatformMismatch(t *testing.T) {
	img := imagetest.Image(t, "linux/arm64", buildImage(t, "linux/arm64")...)
	dir := imagetest.OCIDir(t, img, nil)
	_, err := image.Open(context.Background(), dir, image.WithPlatform("linux/amd64"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is linux/arm64, not the asked platform linux/amd64")
	// Without an explicit platform a single-platform image is taken as it is.
	got, _ := openAndWalk(t, dir)
	assert.Equal(t, "linux/arm64", got.Platform)
}

func TestOpenBadInput(t *testing.T) {
	tmp := t.TempDir()
	notImage := filepath.Join(tmp, "files.tar")
	require.NoError(t, os.WriteFile(notImage, imagetest.TarBytes(t, imagetest.File("hello.txt", []byte("hi"))), 0o644))
	garbage := filepath.Join(tmp, "garbage.tar")
	require.NoError(t, os.WriteFile(garbage, []byte("this is not a tar file at all, not even close............"), 0o644))
	emptyDir := t.TempDir()

	img := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	reg := imagetest.NewRegistry(t, "", "")
	reg.Push(t, "app:1", img, nil)

	cases := []struct {
		ref  string
		code int
		msg  string
	}{
		{"", failure.ExitInput, "no image given"},
		{filepath.Join(tmp, "missing.tar"), failure.ExitInput, "no such file"},
		{"docker-archive:" + filepath.Join(tmp, "missing.tar"), failure.ExitInput, "no such file"},
		{"oci-dir:" + emptyDir, failure.ExitInput, "not an OCI layout"},
		{emptyDir, failure.ExitInput, "not an OCI layout"},
		{notImage, failure.ExitInput, "neither a docker-archive"},
		{"docker-archive:" + notImage, failure.ExitInput, "docker-archive"},
		{"oci-archive:" + notImage, failure.ExitInput, "not an OCI archive"},
		{garbage, failure.ExitInput, "not an image archive"},
		{"UPPER/Case:tag", failure.ExitInput, "not a valid reference"},
		{reg.Host + "/app:nope", failure.ExitInput, "not found"},
		{reg.Host + "/nothere:1", failure.ExitInput, "not found"},
		{"127.0.0.1:1/app:1", failure.ExitIncomplete, "cannot reach the registry"},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			_, err := image.Open(context.Background(), c.ref)
			require.Error(t, err)
			assert.Equal(t, c.code, failure.Code(err), err.Error())
			assert.Contains(t, err.Error(), c.msg)
		})
	}
	_, err := image.Open(context.Background(), "alpine", image.WithPlatform("linux"))
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
}

func TestDaemonUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	_, err := image.Open(context.Background(), "docker-daemon:alpine:3.20")
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "no Docker daemon is reachable")
}

// A docker save of several images is never read as its first image: the image must be
// named (docker-archive:PATH@REPO:TAG, or the bare path with @REPO:TAG).
func TestMultiImageArchive(t *testing.T) {
	base := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=base\n")))})
	app := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=app\n")))})
	path := filepath.Join(t.TempDir(), "two.tar")
	baseTag, err := name.NewTag("example.com/base:1")
	require.NoError(t, err)
	appTag, err := name.NewTag("app:latest")
	require.NoError(t, err)
	require.NoError(t, tarball.MultiRefWriteToFile(path, map[name.Reference]v1.Image{baseTag: base, appTag: app}))

	for _, ref := range []string{path, "docker-archive:" + path} {
		_, err := image.Open(context.Background(), ref)
		require.Error(t, err, ref)
		assert.Equal(t, failure.ExitInput, failure.Code(err))
		assert.Contains(t, err.Error(), "holds 2 images")
		assert.Contains(t, err.Error(), "app:latest")
		assert.Contains(t, err.Error(), "example.com/base:1")
	}
	wantID, err := app.ConfigName()
	require.NoError(t, err)
	for _, ref := range []string{path + "@app:latest", "docker-archive:" + path + "@app:latest"} {
		got, idx := openAndWalk(t, ref)
		assert.Equal(t, wantID.String(), got.ID, ref)
		f, ok := idx.Stat("etc/os-release")
		require.True(t, ok)
		assert.Equal(t, "ID=app\n", kept(t, f))
	}
	_, err = image.Open(context.Background(), "docker-archive:"+path+"@other:1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "holds no image other:1")
}

// A registry image whose manifest declares a 2 GB config is refused before the config is
// read.
func TestHugeConfigIsNotRead(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	m, err := img.Manifest()
	require.NoError(t, err)
	m = m.DeepCopy()
	m.Config.Size = 2 << 30
	huge := &manifestOverride{Image: img, m: m}
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Push(t, "huge:1", huge, nil)
	_, err = image.Open(context.Background(), ref, image.WithSources([]string{image.SourceRegistry}))
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "over the limit")
}

// manifestOverride serves another manifest for an image.
type manifestOverride struct {
	v1.Image
	m *v1.Manifest
}

func (o *manifestOverride) Manifest() (*v1.Manifest, error) { return o.m, nil }
func (o *manifestOverride) RawManifest() ([]byte, error)    { return json.Marshal(o.m) }
func (o *manifestOverride) Digest() (v1.Hash, error) {
	b, err := o.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	return h, err
}

// A docker-archive's layer sizes come from its tar headers: go-containerregistry would
// compress an uncompressed layer whole to tell its size.
func TestDockerArchiveStoredSizes(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	archive := imagetest.DockerArchive(t, img, "example.com/app:1")
	got, idx := openAndWalk(t, "docker-archive:"+archive)
	require.Len(t, got.StoredSizes, 2)
	layers, err := img.Layers()
	require.NoError(t, err)
	for i, l := range layers {
		// go-containerregistry writes the layers compressed: what it stores is Size().
		n, err := l.Size()
		require.NoError(t, err)
		assert.Equal(t, n, got.StoredSizes[i], "layer %d", i)
	}
	assert.Equal(t, []string{"app/bin", "etc/os-release"}, finalPaths(idx))
}

// Reports and SBOMs name an archive as the user would: relative to the working folder, or
// by its file name when it lies elsewhere; never by a host path.
func TestArchiveNamesAreNotHostPaths(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	elsewhere := imagetest.DockerArchive(t, img, "example.com/app:1") // in a temporary folder
	work := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(work, "build"), 0o755))
	b, err := os.ReadFile(elsewhere)
	require.NoError(t, err)
	inside := filepath.Join(work, "build", "app.tar")
	require.NoError(t, os.WriteFile(inside, b, 0o644))
	t.Chdir(work)
	for arg, want := range map[string]string{
		inside:                     "build/app.tar",
		"docker-archive:" + inside: "build/app.tar",
		"./build/app.tar":          "build/app.tar",
		elsewhere:                  "image.tar",
		"docker-archive:" + elsewhere + "@example.com/app:1": "image.tar@example.com/app:1",
	} {
		got, err := image.Open(context.Background(), arg)
		require.NoError(t, err, arg)
		assert.Equal(t, want, got.Name, arg)
	}
}

// The registry: prefix names the transport; a registry host named "registry" with a port
// (as docker-compose setups name theirs) is a host, and its credentials are for it.
func TestRegistryOfAHostNamedRegistry(t *testing.T) {
	for arg, want := range map[string]string{
		"registry:5000/team/app:1":      "registry:5000",
		"registry:ghcr.io/org/app:1":    "ghcr.io",
		"ghcr.io/org/app:1":             "ghcr.io",
		"docker-archive:app.tar":        "",
		"registry.example:443/app:1.2":  "registry.example:443",
		"registry:localhost:5000/app:1": "localhost:5000",
	} {
		assert.Equal(t, want, image.RegistryOf(arg), arg)
	}
}
