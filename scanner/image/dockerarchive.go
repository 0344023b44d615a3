package image

import (
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// MaxArchiveImages bounds the images one docker-archive may list.
const MaxArchiveImages = 1000

// splitArchive cuts docker-archive:PATH@REPO:TAG into the path and the image asked for;
// a path that exists as given (even with an @ in it) is the whole argument.
func splitArchive(arg string) (path, want string) {
	if _, err := os.Stat(arg); err == nil {
		return arg, ""
	}
	if i := strings.LastIndex(arg, "@"); i > 0 && !strings.HasPrefix(arg[i+1:], "sha256:") {
		if _, err := os.Stat(arg[:i]); err == nil {
			return arg[:i], arg[i+1:]
		}
	}
	return arg, ""
}

// openDockerArchive opens a 'docker save' tar. One that holds several images is read only
// for the image asked for (docker-archive:PATH@REPO:TAG): never the first one silently.
func openDockerArchive(arg string, o openOptions) (*Image, error) {
	path, want := splitArchive(arg)
	if err := userfile.Check(path, "docker-archive"); err != nil {
		return nil, err
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return nil, failure.Inputf("docker-archive %q: not a docker save archive: %w", path, err)
	}
	if len(m) == 0 {
		return nil, failure.Inputf("docker-archive %q: manifest.json lists no image", path)
	}
	if len(m) > MaxArchiveImages {
		return nil, failure.Inputf("docker-archive %q: lists %d images, over the limit of %d", path, len(m), MaxArchiveImages)
	}
	members, err := indexTar(path)
	if err != nil {
		return nil, failure.Inputf("docker-archive %q: %w", path, err)
	}
	for _, d := range m {
		if c, ok := members[strings.TrimPrefix(d.Config, "./")]; ok && c.size > MaxConfigSize {
			return nil, failure.Inputf("docker-archive %q: the image config %s is %d bytes, over the limit of %d", path, d.Config, c.size, MaxConfigSize)
		}
		if len(d.Layers) > MaxLayers {
			return nil, failure.Inputf("docker-archive %q: an image with %d layers, over the limit of %d (Docker builds at most 127)", path, len(d.Layers), MaxLayers)
		}
	}
	var tag *name.Tag
	switch {
	case want != "":
		t, err := name.NewTag(want)
		if err != nil {
			return nil, failure.Inputf("docker-archive %q: %q is not an image name: %w", path, want, err)
		}
		found := false
		for _, d := range m {
			for _, rt := range d.RepoTags {
				if have, err := name.NewTag(rt); err == nil && have.String() == t.String() {
					found = true
				}
			}
		}
		if !found {
			return nil, failure.Inputf("docker-archive %q holds no image %s; it holds %s", path, want, archiveImages(m))
		}
		tag = &t
	case len(m) > 1:
		return nil, failure.Inputf("docker-archive %q holds %d images (%s): name the one to scan, e.g. docker-archive:%s@%s", path, len(m), archiveImages(m), path, firstTag(m))
	}
	i, err := tarball.ImageFromPath(path, tag)
	if err != nil {
		return nil, failure.Inputf("docker-archive %q: %w", path, err)
	}
	img, err := finish(&Image{Image: i}, o.platform, path)
	if err != nil {
		return nil, err
	}
	img.StoredSizes, img.blobs = storedBlobs(path, m, tag, members)
	if cf, err := i.ConfigFile(); err == nil && img.blobs != nil && len(cf.RootFS.DiffIDs) == len(img.blobs) {
		img.Image = &savedImage{Image: i, diffIDs: cf.RootFS.DiffIDs, sizes: img.StoredSizes}
	}
	return img, nil
}

// savedImage is a docker save archive's image whose layers are listed from its config
// and the archive's members. go-containerregistry lists them from the manifest it computes
// for the archive, a sha256 over every stored layer before the first is read (700 MB of
// gzip layers: 0.5 s on one core), for digests nothing here checks against (the archive
// names its layers by path; what ties a layer to the config is its diff ID, checked where
// the walk is asked to). Those digests are still there for who asks a layer for one.
type savedImage struct {
	v1.Image
	diffIDs []v1.Hash
	sizes   []int64
}

func (a *savedImage) Layers() ([]v1.Layer, error) {
	out := make([]v1.Layer, len(a.diffIDs))
	for i := range a.diffIDs {
		out[i] = &savedLayer{img: a, i: i}
	}
	return out, nil
}

// savedLayer answers its diff ID and stored size itself and asks go-containerregistry's
// layer for the rest.
type savedLayer struct {
	img *savedImage
	i   int
}

func (l *savedLayer) DiffID() (v1.Hash, error) { return l.img.diffIDs[l.i], nil }
func (l *savedLayer) Size() (int64, error)     { return l.img.sizes[l.i], nil }

func (l *savedLayer) layer() (v1.Layer, error) {
	layers, err := l.img.Image.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != len(l.img.diffIDs) {
		return nil, fmt.Errorf("the archive lists %d layers, its config %d", len(layers), len(l.img.diffIDs))
	}
	return layers[l.i], nil
}

func (l *savedLayer) Digest() (v1.Hash, error) {
	r, err := l.layer()
	if err != nil {
		return v1.Hash{}, err
	}
	return r.Digest()
}

func (l *savedLayer) Compressed() (io.ReadCloser, error) {
	r, err := l.layer()
	if err != nil {
		return nil, err
	}
	return r.Compressed()
}

func (l *savedLayer) Uncompressed() (io.ReadCloser, error) {
	r, err := l.layer()
	if err != nil {
		return nil, err
	}
	return r.Uncompressed()
}

func (l *savedLayer) MediaType() (types.MediaType, error) {
	r, err := l.layer()
	if err != nil {
		return "", err
	}
	return r.MediaType()
}

// storedBlobs are the tar sizes of the layers of the archive's image tag (the only image
// when tag is nil) and openers of their members as stored, or nil when one is missing.
func storedBlobs(archive string, m tarball.Manifest, tag *name.Tag, members map[string]section) ([]int64, []func() (io.ReadCloser, error)) {
	entry := m[0]
	if tag != nil {
		for _, d := range m {
			for _, rt := range d.RepoTags {
				if have, err := name.NewTag(rt); err == nil && have.String() == tag.String() {
					entry = d
				}
			}
		}
	}
	sizes := make([]int64, len(entry.Layers))
	blobs := make([]func() (io.ReadCloser, error), len(entry.Layers))
	for i, p := range entry.Layers {
		s, ok := members[path.Clean(strings.TrimPrefix(p, "./"))]
		if !ok {
			return nil, nil
		}
		sizes[i] = s.size
		blobs[i] = func() (io.ReadCloser, error) {
			f, err := os.Open(archive)
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.NewSectionReader(f, s.off, s.size), f}, nil
		}
	}
	return sizes, blobs
}

func archiveImages(m tarball.Manifest) string {
	var names []string
	for n, d := range m {
		if len(d.RepoTags) == 0 {
			names = append(names, fmt.Sprintf("untagged image #%d", n+1))
			continue
		}
		names = append(names, strings.Join(d.RepoTags, ", "))
	}
	return strings.Join(names, "; ")
}

func firstTag(m tarball.Manifest) string {
	for _, d := range m {
		if len(d.RepoTags) > 0 {
			return d.RepoTags[0]
		}
	}
	return "REPO:TAG (the untagged images cannot be chosen: save them with a tag)"
}
