// Package imagebuild builds real container images in Go with go-containerregistry: layers
// from entry lists or folders, images with history. Tests, benchmarks and the demo image
// generator use it; no Docker engine is needed.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the fixed time stamp of built entries and history, so builds are reproducible.
var Epoch = time.Unix(1700000000, 0).UTC()

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

// WriteTar writes entries as an uncompressed tar.
func WriteTar(w io.Writer, entries ...Entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{
			Name:     e.Path,
			Typeflag: e.Type,
			Mode:     e.Mode,
			Linkname: e.Linkname,
			Uid:      e.UID,
			Gid:      e.GID,
			ModTime:  Epoch,
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
			return fmt.Errorf("tar header %s: %w", e.Path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// Layer builds a gzip-compressed layer from entries.
func Layer(entries ...Entry) (v1.Layer, error) {
	var buf bytes.Buffer
	if err := WriteTar(&buf, entries...); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// Step is one layer with the history entry that made it.
type Step struct {
	Layer     v1.Layer // nil for an empty-layer history entry (ENV, USER, ...)
	CreatedBy string
}

// Image stacks steps into an OCI image for platform (e.g. "linux/amd64"), with cfg
// applied to the config (nil for none).
func Image(platform string, cfg func(*v1.Config), steps ...Step) (v1.Image, error) {
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var history []v1.History
	for _, s := range steps {
		h := v1.History{CreatedBy: s.CreatedBy, Created: v1.Time{Time: Epoch}}
		if s.Layer == nil {
			h.EmptyLayer = true
		} else if img, err = mutate.AppendLayers(img, s.Layer); err != nil {
			return nil, err
		}
		history = append(history, h)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.History = history
	cf.Created = v1.Time{Time: Epoch}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	if cfg != nil {
		cfg(&cf.Config)
	}
	return mutate.ConfigFile(img, cf)
}

// EditConfig returns img with its config file changed by edit (on a copy).
func EditConfig(img v1.Image, edit func(*v1.ConfigFile)) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	edit(cf)
	return mutate.ConfigFile(img, cf)
}

// Index builds a multi-platform index of images.
func Index(imgs ...v1.Image) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
			},
		})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...), nil
}

// Tree returns the files under dir as entries rooted at the image root, with their
// parent directories, in a stable order.
func Tree(dir string) ([]Entry, error) {
	var out []Entry
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, p)
		if r == "." {
			return nil
		}
		r = filepath.ToSlash(r)
		switch {
		case info.IsDir():
			out = append(out, Dir(r))
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, Symlink(r, target))
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, File(r, b))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", dir, err)
	}
	return out, nil
}
