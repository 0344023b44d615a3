// Package e2e runs imagegate where users run it: the GitHub Action on a real runner
// (nektos/act) against a real Docker daemon, the Azure DevOps task from its unzipped vsix
// with node as the agent runs it, and scans against Debian's docker-registry with TLS and
// htpasswd. The services come from .ci/services, which .ci/run sources; without
// IMAGEGATE_E2E=1 these tests skip, so that `go test ./...` works on any machine.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/actionimage"
	"github.com/imagegate/imagegate/internal/imagetest"
)

func TestMain(m *testing.M) {
	if os.Getenv("IMAGEGATE_E2E") != "1" {
		fmt.Println("e2e: IMAGEGATE_E2E is not 1: skipped (.ci/run sources .ci/services and runs these)")
		os.Exit(0)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

var cleanups []func()

func cleanup() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}

// built is a program the tests build once, with the caller's Go caches.
type built struct {
	once sync.Once
	path string
	err  error
}

// get builds the program named file (go build args... -o it) the first time.
func (b *built) get(t *testing.T, file string, env []string, args ...string) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "imagegate-e2e-bin")
		if err != nil {
			b.err = err
			return
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		b.path = filepath.Join(dir, file)
		cmd := exec.Command("go", append([]string{"build", "-o", b.path}, args...)...)
		cmd.Dir = repo(t)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", file, err, out)
		}
	})
	require.NoError(t, b.err)
	return b.path
}

var imagegateBin, cosignBin built

// binary builds imagegate once, static, for this machine.
func binary(t *testing.T) string {
	return imagegateBin.get(t, "imagegate", []string{"CGO_ENABLED=0"}, "-trimpath", "./cmd/imagegate")
}

// cosignBinary builds cosign, the oracle of the signed SBOMs, from its tool module once
// (.ci/run has built it already).
func cosignBinary(t *testing.T) string {
	return cosignBin.get(t, "cosign", nil, "-modfile=tools/cosign/go.mod", "github.com/sigstore/cosign/v3/cmd/cosign")
}

func repo(t *testing.T, parts ...string) string {
	return filepath.Join(append([]string{imagetest.RepoRoot(t)}, parts...)...)
}

type result struct {
	code   int
	stdout string
	stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// run runs a command with a deadline and returns its exit code and output.
func run(t *testing.T, dir string, env []string, timeout time.Duration, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "%s %v: %v\n%s", name, args, err, stderr.String())
		code = ee.ExitCode()
	}
	require.NoError(t, ctx.Err(), "%s %v timed out", name, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, "", nil, 5*time.Minute, "docker", args...)
	require.Equal(t, 0, r.code, "docker %v: %s", args, r)
	return r.stdout
}

// loadImage writes img as a docker-archive tagged tag and loads it into the daemon.
func loadImage(t *testing.T, img v1.Image, tag string) {
	t.Helper()
	ref, err := name.NewTag(tag)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "image.tar")
	require.NoError(t, tarball.WriteToFile(path, ref, img))
	docker(t, "load", "-i", path)
}

// loadAlpineBase loads alpine:3.20 into the daemon: the demo image's base layer (Alpine's
// 3.20.2 minirootfs, trimmed) with a config of its own. No image can be pulled here.
func loadAlpineBase(t *testing.T) {
	t.Helper()
	demo, err := tarball.ImageFromPath(repo(t, "testdata", "demo", "demo-image.tar"), nil)
	require.NoError(t, err)
	layers, err := demo.Layers()
	require.NoError(t, err)
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layers[0], History: v1.History{CreatedBy: "ADD alpine-minirootfs-3.20.2-x86_64.tar.gz /"}})
	require.NoError(t, err)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		OS: "linux", Architecture: "amd64",
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: mustDiffIDs(t, layers[:1])},
		History: []v1.History{{CreatedBy: "ADD alpine-minirootfs-3.20.2-x86_64.tar.gz /"}},
		Config:  v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	})
	require.NoError(t, err)
	loadImage(t, img, "alpine:3.20")
}

func mustDiffIDs(t *testing.T, layers []v1.Layer) []v1.Hash {
	var out []v1.Hash
	for _, l := range layers {
		d, err := l.DiffID()
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}

// actionImage builds the action's image from the repository's Dockerfile: its final stage,
// with the binary built here in place of the build stage's (no base image can be pulled).
func actionImage(t *testing.T) string {
	t.Helper()
	const tag = "imagegate/action:e2e"
	df, err := os.ReadFile(repo(t, "Dockerfile"))
	require.NoError(t, err)
	pkg, err := actionimage.Packaging(df, "imagegate")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(pkg), 0o644))
	b, err := os.ReadFile(binary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "imagegate"), b, 0o755))
	docker(t, "build", "-q", "-t", tag, dir)
	return tag
}

// osvSource serves OSV's export layout (<Ecosystem>/all.zip) from testdata/osv on
// loopback, as a mirror would, and counts the downloads it served whole.
type osvSource struct {
	URL string
	mu  sync.Mutex
	got map[string]int // path -> 200 answers
}

func newOSVSource(t *testing.T) *osvSource {
	t.Helper()
	s := &osvSource{got: map[string]int{}}
	files := http.FileServer(http.Dir(repo(t, "testdata", "osv")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		files.ServeHTTP(rec, r)
		if rec.code == http.StatusOK {
			s.mu.Lock()
			s.got[r.URL.Path]++
			s.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *osvSource) downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.got {
		n += c
	}
	return n
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// copyDir copies a folder tree (regular files and folders).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	}))
}

func requireLinuxAMD64(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the end-to-end images are linux/amd64; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
}

func lines(s, substr string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}
