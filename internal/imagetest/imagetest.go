// Package imagetest builds real container images for tests with go-containerregistry:
// layers from file lists, images with history, and the image in every on-disk and
// registry form that imagegate reads.
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
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Entry is one tar entry of a layer.
type Entry struct {
	Path     string
	Body     []byte
	Mode     int64 // default 0644 for files, 0755 for directories
	Type     byte  // tar.TypeReg by default
	Linkname string
	UID, GID int
}

// File is a regular file entry.
func File(path string, body []byte) Entry { return Entry{Path: path, Body: body} }

// Dir is a directory entry.
func Dir(path string) Entry { return Entry{Path: path, Type: tar.TypeDir} }

// Symlink is a symbolic link entry.
func Symlink(path, target string) Entry {
	return Entry{Path: path, Type: tar.TypeSymlink, Linkname: target}
}

// Whiteout deletes path from the layers below.
func Whiteout(path string) Entry {
	dir, base := filepath.Split(path)
	return Entry{Path: dir + ".wh." + base}
}

// Opaque hides everything the layers below have in dir.
func Opaque(dir string) Entry { return Entry{Path: strings.TrimSuffix(dir, "/") + "/.wh..wh..opq"} }

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

// TarBytes writes entries as an uncompressed tar.
func TarBytes(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:     e.Path,
			Typeflag: e.Type,
			Mode:     e.Mode,
			Linkname: e.Linkname,
			Uid:      e.UID,
			Gid:      e.GID,
			ModTime:  time.Unix(1700000000, 0),
			Format:   tar.FormatPAX,
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %s: %v", e.Path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layer builds a gzip-compressed layer from entries.
func Layer(t testing.TB, entries ...Entry) v1.Layer {
	t.Helper()
	data := TarBytes(t, entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Step is one layer with the history entry that made it.
type Step struct {
	Layer     v1.Layer // nil for an empty-layer history entry (ENV, USER, ...)
	CreatedBy string
}

// Image stacks steps into an image for platform (e.g. "linux/amd64").
func Image(t testing.TB, platform string, steps ...Step) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, s := range steps {
		h := v1.History{CreatedBy: s.CreatedBy, Created: v1.Time{Time: time.Unix(1700000000, 0).UTC()}}
		var err error
		if s.Layer == nil {
			h.EmptyLayer = true
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			cf = cf.DeepCopy()
			cf.History = append(cf.History, h)
			img, err = mutate.ConfigFile(img, cf)
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: s.Layer, History: h, MediaType: types.OCILayer})
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Index builds a multi-platform index of images.
func Index(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
			},
		})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
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

// Tree returns the files under testdata/<rel> as layer entries rooted at the image root,
// with their parent directories.
func Tree(t testing.TB, rel string) []Entry {
	t.Helper()
	root := filepath.Join(RepoRoot(t), "testdata", rel)
	var out []Entry
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(root, p)
		if r == "." {
			return nil
		}
		r = filepath.ToSlash(r)
		if info.IsDir() {
			out = append(out, Dir(r))
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, File(r, b))
		return nil
	})
	if err != nil {
		t.Fatalf("tree %s: %v", rel, err)
	}
	return out
}
