// Package imagetest wraps imagebuild for tests (failing the test on error) and writes
// images in every on-disk and registry form that imagegate reads, including an in-process
// registry served over HTTP.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imagegate/imagegate/internal/imagebuild"
)

// Fixture reads a file under the repository's testdata folder.
func Fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "testdata", rel))
	if err != nil {
		t.Fatalf("fixture %s: %v", rel, err)
	}
	return b
}

// RepoRoot finds the module root from the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// DockerArchive writes img as a `docker save` tar and returns its path.
func DockerArchive(t testing.TB, img v1.Image, tag string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// OCIDir writes an OCI layout holding idx (an image or an index) and returns its folder.
func OCIDir(t testing.TB, img v1.Image, idx v1.ImageIndex) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if img != nil {
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	}
	if idx != nil {
		if err := p.AppendIndex(idx); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// OCIArchive writes an OCI layout as a tar (what `skopeo copy oci-archive:` and
// `docker buildx --output type=oci` produce) and returns its path.
func OCIArchive(t testing.TB, img v1.Image, idx v1.ImageIndex) string {
	t.Helper()
	dir := OCIDir(t, img, idx)
	p := filepath.Join(t.TempDir(), "image-oci.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "." {
			return nil
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Registry is an in-process OCI registry (go-containerregistry's pkg/registry) served over
// HTTP on loopback, optionally behind basic auth.
type Registry struct {
	Server *httptest.Server
	Host   string // host:port
}

// NewRegistry starts a registry; with a non-empty user it demands basic auth.
func NewRegistry(t testing.TB, user, password string) *Registry {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if user != "" {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="imagegate-test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return &Registry{Server: s, Host: strings.TrimPrefix(s.URL, "http://")}
}

// Push writes img (or idx) to repo:tag and returns the reference.
func (r *Registry) Push(t testing.TB, repoTag string, img v1.Image, idx v1.ImageIndex, opts ...remote.Option) string {
	t.Helper()
	ref, err := name.ParseReference(r.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if img != nil {
		err = remote.Write(ref, img, opts...)
	} else {
		err = remote.WriteIndex(ref, idx, opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

// Entry and its constructors are imagebuild's, re-exported for tests.
type (
	Entry = imagebuild.Entry
	Step  = imagebuild.Step
)

// Entry constructors.
var (
	File     = imagebuild.File
	Dir      = imagebuild.Dir
	Symlink  = imagebuild.Symlink
	Whiteout = imagebuild.Whiteout
	Opaque   = imagebuild.Opaque
)

// TarBytes writes entries as an uncompressed tar.
func TarBytes(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := imagebuild.WriteTar(&buf, entries...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layer builds a gzip-compressed layer from entries.
func Layer(t testing.TB, entries ...Entry) v1.Layer {
	t.Helper()
	l, err := imagebuild.Layer(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Image stacks steps into an image for platform (e.g. "linux/amd64").
func Image(t testing.TB, platform string, steps ...Step) v1.Image {
	t.Helper()
	img, err := imagebuild.Image(platform, nil, steps...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Index builds a multi-platform index of images.
func Index(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	idx, err := imagebuild.Index(imgs...)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// Tree returns the files under testdata/<rel> as layer entries.
func Tree(t testing.TB, rel string) []Entry {
	t.Helper()
	out, err := imagebuild.Tree(filepath.Join(RepoRoot(t), "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
