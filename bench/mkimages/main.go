// Command mkimages makes the images bench/run.sh measures, and serves and downloads them
// for the registry case. The images are docker save archives written by hand (the format
// is a tar of manifest.json, the config and one tar per layer): go-containerregistry
// writes every layer gzip-compressed, and `docker save` of Docker 20-24 writes them
// uncompressed.
//
//	mkimages DIR            uncompressed.tar (~400 MiB, 5 layers: a Debian-like base with
//	                        a real dpkg database and shared libraries, Python, Node.js, Go
//	                        binaries, the app) and gzip.tar (1 GiB in 20 gzip layers)
//	mkimages serve DIR ADDR an in-process registry on ADDR holding gzip.tar as bench/gzip:1,
//	                        sending at $IMAGEGATE_BENCH_MBITS Mbit/s (default 1000, a CI
//	                        runner's network; 0: unlimited)
//	mkimages download REF   fetches every layer blob of REF at once; prints the seconds
//	mkimages flat DIR       flat-{100m,400m,1g}.tar and flat-*-gzip.tar (5, 10, 20 layers)
//	                        of this machine's own files (flat.go), for the peak RSS by size
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkimages:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 1:
		return makeAll(args[0])
	case len(args) == 3 && args[0] == "serve":
		return serve(args[1], args[2])
	case len(args) == 2 && args[0] == "download":
		return download(args[1])
	case len(args) == 2 && args[0] == "flat":
		return makeFlat(args[1])
	}
	return fmt.Errorf("usage: mkimages DIR | serve DIR ADDR | download REF | flat DIR")
}

// repoRoot is the repository the command runs in (bench/run.sh runs it from the root).
func repoRoot() string { wd, _ := os.Getwd(); return wd }

func makeAll(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := repoRoot()
	status, err := os.ReadFile(filepath.Join(root, "testdata/pkgdb/debian11-app/var/lib/dpkg/status"))
	if err != nil {
		return err
	}
	goBin, err := os.ReadFile(filepath.Join(root, "testdata/gobinary/go1.22-server"))
	if err != nil {
		return err
	}
	g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
	base := []entry{{"etc/os-release", []byte("PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\nID=debian\n"), 0o644}, {"var/lib/dpkg/status", status, 0o644}}
	base = append(base, g.files("usr/lib/x86_64-linux-gnu/lib%03d.so.1", 120<<20, 256<<10, 2<<20, g.elf)...)
	base = append(base, g.files("usr/share/doc/pkg%03d/README", 30<<20, 8<<10, 64<<10, g.text)...)
	base = append(base, g.files("etc/conf%03d.conf", 4<<20, 1<<10, 16<<10, g.text)...)
	python := append(tree(filepath.Join(root, "testdata/langs/site-packages"), "usr/local/lib/python3.11/site-packages"),
		g.files("usr/local/lib/python3.11/mod%04d.py", 60<<20, 4<<10, 64<<10, g.text)...)
	python = append(python, g.files("usr/local/lib/python3.11/lib-dynload/_m%03d.so", 40<<20, 64<<10, 1<<20, g.elf)...)
	node := append(tree(filepath.Join(root, "testdata/npm/demo-app"), "app"), g.files("app/node_modules/dep%04d/index.js", 70<<20, 2<<10, 64<<10, g.text)...)
	var gobins []entry
	for i := range 30 {
		gobins = append(gobins, entry{fmt.Sprintf("usr/local/bin/svc%02d", i), goBin, 0o755})
	}
	app := g.files("app/static/asset%04d.bin", 60<<20, 16<<10, 1<<20, g.random)
	if err := writeArchive(filepath.Join(dir, "uncompressed.tar"), false, [][]entry{base, python, node, gobins, app}); err != nil {
		return err
	}
	var layers [][]entry
	layers = append(layers, base)
	for l := 1; l < 20; l++ {
		var es []entry
		es = append(es, g.files(fmt.Sprintf("opt/l%02d/text%%04d.txt", l), 30<<20, 4<<10, 64<<10, g.text)...)
		es = append(es, g.files(fmt.Sprintf("opt/l%02d/lib%%03d.so", l), 22<<20, 256<<10, 2<<20, g.elf)...)
		layers = append(layers, es)
	}
	if err := writeArchive(filepath.Join(dir, "gzip.tar"), true, layers); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
}

type entry struct {
	path string
	body []byte
	mode int64
}

type gen struct{ rng *rand.Rand }

var words = []string{"container", "layer", "image", "package", "version", "security", "registry",
	"manifest", "digest", "the", "of", "and", "a", "to", "in", "is", "for", "with", "0", "1", "\n", "=", "config", "value"}

func (g *gen) text(n int) []byte {
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[g.rng.IntN(len(words))]...)
		b = append(b, ' ')
	}
	return b[:n]
}

func (g *gen) random(n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := g.rng.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// elf is a shared-library-like file: an ELF header, then bytes that do not compress.
func (g *gen) elf(n int) []byte {
	b := g.random(n)
	copy(b, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	return b
}

// files makes files named by pattern (%d: their number) until total bytes, each of a size
// between lo and hi.
func (g *gen) files(pattern string, total, lo, hi int, body func(int) []byte) []entry {
	var out []entry
	for i, sum := 0, 0; sum < total; i++ {
		n := lo + g.rng.IntN(hi-lo)
		mode := int64(0o644)
		if bytes.HasPrefix(body(4), []byte{0x7f}) {
			mode = 0o755
		}
		out = append(out, entry{fmt.Sprintf(pattern, i), body(n), mode})
		sum += n
	}
	return out
}

// tree reads the files under dir as entries under prefix.
func tree(dir, prefix string) []entry {
	var out []entry
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, entry{prefix + "/" + filepath.ToSlash(rel), b, 0o644})
		return nil
	})
	return out
}

// writeArchive writes a docker save archive of one image whose layers hold the entries.
func writeArchive(p string, compress bool, layers [][]entry) error {
	f, err := os.Create(p + ".tmp")
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	var diffIDs []string
	var files []string
	for _, es := range layers {
		var raw bytes.Buffer
		lt := tar.NewWriter(&raw)
		for _, e := range es {
			if err := lt.WriteHeader(&tar.Header{Name: e.path, Mode: e.mode, Size: int64(len(e.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}); err != nil {
				return err
			}
			lt.Write(e.body)
		}
		lt.Close()
		sum := sha256.Sum256(raw.Bytes())
		diff := hex.EncodeToString(sum[:])
		diffIDs = append(diffIDs, "sha256:"+diff)
		blob, name := raw.Bytes(), diff+"/layer.tar"
		if compress {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(raw.Bytes())
			zw.Close()
			blob, name = z.Bytes(), diff+".tar.gz"
		}
		files = append(files, name)
		if err := add(tw, name, blob); err != nil {
			return err
		}
	}
	return finishArchive(f, tw, p, diffIDs, files)
}

// finishArchive writes the config and manifest.json of the image whose layers tw holds
// (their diff IDs, their names in the archive), and moves the archive from p.tmp to p.
func finishArchive(f *os.File, tw *tar.Writer, p string, diffIDs, layers []string) error {
	history := make([]map[string]string, len(layers))
	for i := range history {
		history[i] = map[string]string{"created_by": "COPY . / # buildkit"}
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config":  map[string]any{"User": "10001"},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
		"history": history,
	})
	csum := sha256.Sum256(cfg)
	cname := hex.EncodeToString(csum[:]) + ".json"
	if err := add(tw, cname, cfg); err != nil {
		return err
	}
	m, _ := json.Marshal([]map[string]any{{"Config": cname, "RepoTags": []string{"bench/" + filepath.Base(p[:len(p)-4]) + ":1"}, "Layers": layers}})
	if err := add(tw, "manifest.json", m); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	f.Close()
	return os.Rename(p+".tmp", p)
}

func add(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func serve(dir, addr string) error {
	img, err := tarball.ImageFromPath(filepath.Join(dir, "gzip.tar"), nil)
	if err != nil {
		return err
	}
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	mbits := 1000.0
	if v := os.Getenv("IMAGEGATE_BENCH_MBITS"); v != "" {
		if _, err := fmt.Sscan(v, &mbits); err != nil {
			return err
		}
	}
	if mbits > 0 {
		h = limited(h, mbits*1e6/8)
	}
	srv := &http.Server{Addr: addr, Handler: h}
	go srv.ListenAndServe()
	ref, err := name.ParseReference(addr+"/bench/gzip:1", name.Insecure)
	if err != nil {
		return err
	}
	for range 50 {
		if err = remote.Write(ref, img); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	fmt.Println("ready", ref)
	select {}
}

// limited shares one link of bytesPerSec between every response, as a network would.
func limited(h http.Handler, bytesPerSec float64) http.Handler {
	var mu sync.Mutex
	next := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&slowWriter{ResponseWriter: w, wait: func(n int) {
			mu.Lock()
			at := next
			if now := time.Now(); at.Before(now) {
				at = now
			}
			next = at.Add(time.Duration(float64(n) / bytesPerSec * float64(time.Second)))
			mu.Unlock()
			time.Sleep(time.Until(at))
		}}, r)
	})
}

type slowWriter struct {
	http.ResponseWriter
	wait func(n int)
}

func (s *slowWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += 64 << 10 {
		end := min(off+64<<10, len(p))
		s.wait(end - off)
		if _, err := s.ResponseWriter.Write(p[off:end]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

func download(ref string) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	start := time.Now()
	img, err := remote.Image(r, remote.WithContext(context.Background()))
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(layers))
	sem := make(chan struct{}, max(runtime.NumCPU(), len(layers)))
	for _, l := range layers {
		wg.Add(1)
		go func(l v1.Layer) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rc, err := l.Compressed()
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			errs <- err
		}(l)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	fmt.Printf("%.3f\n", time.Since(start).Seconds())
	return nil
}
