package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// An OCI archive is an OCI layout inside a tar. It is read in place: one pass over the tar
// headers records where each member's bytes are, and blobs are served as sections of the
// file. Nothing is extracted to disk.

type section struct{ off, size int64 }

// indexTar lists the regular files of a tar with their offsets, skipping their contents.
func indexTar(p string) (map[string]section, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	cr := &countingSeeker{rs: f}
	tr := tar.NewReader(cr)
	members := map[string]section{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		members[path.Clean(strings.TrimPrefix(h.Name, "./"))] = section{off: cr.pos, size: h.Size}
	}
	if len(members) == 0 {
		return nil, errors.New("no files in the tar")
	}
	return members, nil
}

// countingSeeker tracks the offset tar.Reader has reached; tar uses Seek to skip contents.
type countingSeeker struct {
	rs  io.ReadSeeker
	pos int64
}

func (c *countingSeeker) Read(p []byte) (int, error) {
	n, err := c.rs.Read(p)
	c.pos += int64(n)
	return n, err
}

func (c *countingSeeker) Seek(offset int64, whence int) (int64, error) {
	n, err := c.rs.Seek(offset, whence)
	if err == nil {
		c.pos = n
	}
	return n, err
}

type ociArchive struct {
	path    string
	members map[string]section
}

func (a *ociArchive) open(member string) (io.ReadCloser, int64, error) {
	s, ok := a.members[member]
	if !ok {
		return nil, 0, fmt.Errorf("%s: missing from the archive", member)
	}
	f, err := os.Open(a.path)
	if err != nil {
		return nil, 0, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, s.off, s.size), f}, s.size, nil
}

func (a *ociArchive) read(member string) ([]byte, error) {
	rc, size, err := a.open(member)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > 8<<20 {
		return nil, fmt.Errorf("%s: %d bytes is too large for a manifest or config", member, size)
	}
	return io.ReadAll(rc)
}

func blobPath(h v1.Hash) string { return path.Join("blobs", h.Algorithm, h.Hex) }

func openOCIArchive(p string, o openOptions) (*Image, error) {
	if err := userfile.Check(p, "oci-archive"); err != nil {
		return nil, err
	}
	members, err := indexTar(p)
	if err != nil {
		return nil, failure.Inputf("oci-archive %q: %w", p, err)
	}
	a := &ociArchive{path: p, members: members}
	raw, err := a.read("index.json")
	if err != nil {
		return nil, failure.Inputf("oci-archive %q: not an OCI archive: %w", p, err)
	}
	idx, err := newArchiveIndex(a, raw)
	if err != nil {
		return nil, failure.Inputf("oci-archive %q: index.json: %w", p, err)
	}
	img, err := pickFromIndex(idx, o.platform, p)
	if err != nil {
		return nil, err
	}
	if err := checkManifest(img, p); err != nil {
		return nil, err
	}
	return finish(&Image{Image: img}, o.platform, p)
}

// archiveIndex is a v1.ImageIndex over an index manifest inside an OCI archive.
type archiveIndex struct {
	a   *ociArchive
	raw []byte
	im  *v1.IndexManifest
}

func newArchiveIndex(a *ociArchive, raw []byte) (*archiveIndex, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &archiveIndex{a: a, raw: raw, im: im}, nil
}

func (x *archiveIndex) MediaType() (types.MediaType, error) {
	if x.im.MediaType != "" {
		return x.im.MediaType, nil
	}
	return types.OCIImageIndex, nil
}
func (x *archiveIndex) Digest() (v1.Hash, error)                  { return partial.Digest(x) }
func (x *archiveIndex) Size() (int64, error)                      { return int64(len(x.raw)), nil }
func (x *archiveIndex) IndexManifest() (*v1.IndexManifest, error) { return x.im, nil }
func (x *archiveIndex) RawManifest() ([]byte, error)              { return x.raw, nil }

func (x *archiveIndex) Image(h v1.Hash) (v1.Image, error) {
	raw, err := x.a.read(blobPath(h))
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", h, err)
	}
	return partial.CompressedToImage(&archiveImage{a: x.a, raw: raw, m: m})
}

func (x *archiveIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	raw, err := x.a.read(blobPath(h))
	if err != nil {
		return nil, err
	}
	return newArchiveIndex(x.a, raw)
}

// archiveImage is the compressed image core over an image manifest inside an OCI archive.
type archiveImage struct {
	a   *ociArchive
	raw []byte
	m   *v1.Manifest
}

func (i *archiveImage) MediaType() (types.MediaType, error) {
	if i.m.MediaType != "" {
		return i.m.MediaType, nil
	}
	return types.OCIManifestSchema1, nil
}
func (i *archiveImage) RawManifest() ([]byte, error)   { return i.raw, nil }
func (i *archiveImage) RawConfigFile() ([]byte, error) { return i.a.read(blobPath(i.m.Config.Digest)) }

func (i *archiveImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == i.m.Config.Digest {
		return &archiveBlob{a: i.a, d: i.m.Config}, nil
	}
	for _, l := range i.m.Layers {
		if l.Digest == h {
			return &archiveBlob{a: i.a, d: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s: not in the manifest", h)
}

type archiveBlob struct {
	a *ociArchive
	d v1.Descriptor
}

func (b *archiveBlob) Digest() (v1.Hash, error)            { return b.d.Digest, nil }
func (b *archiveBlob) Size() (int64, error)                { return b.d.Size, nil }
func (b *archiveBlob) MediaType() (types.MediaType, error) { return b.d.MediaType, nil }
func (b *archiveBlob) Compressed() (io.ReadCloser, error) {
	rc, _, err := b.a.open(blobPath(b.d.Digest))
	return rc, err
}
