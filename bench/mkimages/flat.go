package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The flat-memory images are made of this machine's own files, so that their package
// databases, file sizes and file counts are a real system's: Debian's dpkg database whole,
// then the shares below of each source (host folder, its path in the image), walked in
// name order, each file taken while it fits its source's share of the image's size.
// Sizes are the layers' uncompressed bytes.
var flatSizes = []struct {
	name   string
	bytes  int64
	layers int
}{{"100m", 100 << 20, 5}, {"400m", 400 << 20, 10}, {"1g", 1 << 30, 20}}

var flatSources = []struct {
	host, image string
	share       float64
}{
	{"/usr/lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", 0.15},
	{"/usr/share", "usr/share", 0.20},
	{"/usr/lib/python3", "usr/lib/python3", 0.04},
	{"/usr/bin/node", "usr/local/bin/node", 0.10},
	{"/usr/lib/node_modules", "usr/local/lib/node_modules", 0.02},
	{"/usr/local/go", "usr/local/go", 0.15},
	{os.ExpandEnv("$HOME/go/pkg/mod/github.com"), "root/go/pkg/mod/github.com", 0.30},
}

// flatFile is one entry of a flat image: a host file (or symlink) at an image path.
type flatFile struct {
	host, image string
	size        int64
	link        string
}

// makeFlat writes flat-SIZE.tar (uncompressed layers) and flat-SIZE-gzip.tar for each size.
func makeFlat(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, s := range flatSizes {
		plain, gz := filepath.Join(dir, "flat-"+s.name+".tar"), filepath.Join(dir, "flat-"+s.name+"-gzip.tar")
		if _, err := os.Stat(gz); err == nil {
			continue
		}
		files, err := flatFiles(s.bytes)
		if err != nil {
			return err
		}
		layers := cut(files, s.layers)
		for _, out := range []struct {
			p    string
			gzip bool
		}{{plain, false}, {gz, true}} {
			if err := writeFlat(out.p, out.gzip, layers); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "mkimages: %s: %d files in %d layers\n", s.name, len(files), s.layers)
	}
	return nil
}

func flatFiles(total int64) ([]flatFile, error) {
	files := []flatFile{}
	var err error
	if files, _, err = walkShare(files, "/var/lib/dpkg", "var/lib/dpkg", 1<<40); err != nil {
		return nil, err
	}
	files = append(files, flatFile{host: "/etc/os-release", image: "etc/os-release", size: fileSize("/etc/os-release")})
	for _, src := range flatSources {
		if files, _, err = walkShare(files, src.host, src.image, int64(src.share*float64(total))); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func fileSize(p string) int64 {
	if st, err := os.Stat(p); err == nil {
		return st.Size()
	}
	return 0
}

// walkShare appends the files under host (in name order) while they fit in share bytes.
func walkShare(out []flatFile, host, image string, share int64) ([]flatFile, int64, error) {
	var used int64
	err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts of the host are left out
		}
		rel, _ := filepath.Rel(host, p)
		name := filepath.ToSlash(filepath.Join(image, rel))
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if target, err := os.Readlink(p); err == nil {
				out = append(out, flatFile{image: name, link: target})
			}
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil || used+info.Size() > share {
				return nil
			}
			used += info.Size()
			out = append(out, flatFile{host: p, image: name, size: info.Size()})
		}
		return nil
	})
	return out, used, err
}

// cut splits files into n layers of about the same bytes, in order.
func cut(files []flatFile, n int) [][]flatFile {
	var total int64
	for _, f := range files {
		total += f.size
	}
	per := total / int64(n)
	layers := make([][]flatFile, 1, n)
	var in int64
	for _, f := range files {
		if in >= per && len(layers) < n {
			layers, in = append(layers, nil), 0
		}
		layers[len(layers)-1] = append(layers[len(layers)-1], f)
		in += f.size
	}
	return layers
}

// writeFlat writes a docker save archive of the layers, each written to a temporary file
// first (a 1 GiB image is never held in memory).
func writeFlat(p string, compress bool, layers [][]flatFile) error {
	f, err := os.Create(p + ".tmp")
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	var diffIDs, names []string
	for _, l := range layers {
		blob, diff, err := flatLayer(filepath.Dir(p), compress, l)
		if err != nil {
			return err
		}
		name := diff + "/layer.tar"
		if compress {
			name = diff + ".tar.gz"
		}
		err = addFile(tw, name, blob)
		os.Remove(blob)
		if err != nil {
			return err
		}
		diffIDs, names = append(diffIDs, "sha256:"+diff), append(names, name)
	}
	return finishArchive(f, tw, p, diffIDs, names)
}

// flatLayer writes one layer's tar (gzip-compressed when asked) to a temporary file and
// returns its path and diff ID.
func flatLayer(dir string, compress bool, files []flatFile) (string, string, error) {
	tmp, err := os.CreateTemp(dir, "layer-*")
	if err != nil {
		return "", "", err
	}
	defer tmp.Close()
	h := sha256.New()
	var w io.Writer = tmp
	var zw *gzip.Writer
	if compress {
		zw = gzip.NewWriter(tmp)
		w = zw
	}
	lt := tar.NewWriter(io.MultiWriter(w, h))
	sort.SliceStable(files, func(i, j int) bool { return files[i].image < files[j].image })
	mt := time.Unix(1700000000, 0)
	for _, e := range files {
		if e.host == "" {
			if err := lt.WriteHeader(&tar.Header{Name: e.image, Linkname: e.link, Typeflag: tar.TypeSymlink, Mode: 0o777, ModTime: mt}); err != nil {
				return "", "", err
			}
			continue
		}
		src, err := os.Open(e.host)
		if err != nil {
			return "", "", err
		}
		mode := int64(0o644)
		if st, err := src.Stat(); err == nil {
			mode = int64(st.Mode().Perm())
		}
		if err := lt.WriteHeader(&tar.Header{Name: e.image, Mode: mode, Size: e.size, Typeflag: tar.TypeReg, ModTime: mt}); err != nil {
			src.Close()
			return "", "", err
		}
		_, err = io.CopyN(lt, src, e.size)
		src.Close()
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", e.host, err)
		}
	}
	if err := lt.Close(); err != nil {
		return "", "", err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return "", "", err
		}
	}
	return tmp.Name(), hex.EncodeToString(h.Sum(nil)), tmp.Close()
}

// addFile adds the file at p to tw as name.
func addFile(tw *tar.Writer, name, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
