package scanner_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
)

// buildModes are the ways a release builds a Go binary.
var buildModes = map[string][]string{
	"plain":    nil,
	"trimpath": {"-trimpath"},
	"pie":      {"-buildmode=pie"},
	"stripped": {"-ldflags=-s -w"},
}

// govulncheck (golang.org/x/vuln v1.9.0, binary mode, the same OSV data offline) is the
// oracle for reachability. For the corpus in testdata/gocorpus (real module versions with
// known advisories: vulnerable symbols called, packages linked without them, vulnerable
// packages absent), each built plain, -trimpath, PIE and -s -w, and for the demo's Go
// binary: where govulncheck decides at symbol level on the plain build, imagegate agrees;
// imagegate never says not-reachable what govulncheck reports reachable; and every build
// of a program reads as its plain build (govulncheck itself gives up on stripped ones).
// .ci/run sets IMAGEGATE_GOVULNCHECK and fills the module cache for the corpus.
func TestReachabilityAgreesWithGovulncheck(t *testing.T) {
	gv := os.Getenv("IMAGEGATE_GOVULNCHECK")
	if gv == "" {
		t.Skip("IMAGEGATE_GOVULNCHECK is not set (.ci/run builds govulncheck from tools/govulncheck)")
	}
	root := imagetest.RepoRoot(t)
	db := flatGoDB(t, filepath.Join(root, "testdata", "osv", "Go", "all.zip"))
	corpus := filepath.Join(root, "testdata", "gocorpus")
	programs, err := os.ReadDir(corpus)
	require.NoError(t, err)
	decided, reachable := 0, 0
	for _, p := range programs {
		if !p.IsDir() {
			continue
		}
		t.Run(p.Name(), func(t *testing.T) {
			bins := map[string][]byte{}
			for mode, flags := range buildModes {
				bins[mode] = goBuild(t, filepath.Join(corpus, p.Name()), flags)
			}
			d, r := compare(t, gv, db, bins)
			decided, reachable = decided+d, reachable+r
		})
	}
	t.Run("demo", func(t *testing.T) {
		d, r := compare(t, gv, db, map[string][]byte{"plain": demoHealthcheck(t)})
		decided, reachable = decided+d, reachable+r
	})
	t.Logf("govulncheck decided %d advisories at symbol level, %d of them reachable: imagegate agrees on all", decided, reachable)
	assert.Positive(t, reachable, "the corpus calls vulnerable symbols")
	assert.Greater(t, decided, reachable, "and links packages without them")
}

// compare scans each build with imagegate, asks govulncheck about the plain build, and
// checks the rules; it returns how many advisories govulncheck decided at symbol level and
// how many of them it found reachable.
func compare(t *testing.T, gv, db string, bins map[string][]byte) (decided, reachable int) {
	states := map[string]map[string]string{} // build -> advisory id -> state
	for mode, bin := range bins {
		states[mode] = imagegateStates(t, bin)
	}
	plain := states["plain"]
	oracle := govulncheck(t, gv, db, bins["plain"])
	for id, symbol := range oracle {
		got, ok := plain[id]
		if !assert.True(t, ok, "govulncheck reports %s, imagegate has no finding for it", id) {
			continue
		}
		switch {
		case symbol:
			decided++
			reachable++
			assert.Equal(t, report.Reachable, got, "%s: govulncheck finds a vulnerable symbol", id)
		case got != report.ReachUnknown:
			// The affected package is absent or linked without the symbols: imagegate
			// says so (unknown only where the record gives it nothing to decide on).
			decided++
			assert.Equal(t, report.NotReachable, got, "%s: govulncheck finds no vulnerable symbol", id)
		}
	}
	for mode, st := range states {
		assert.Equal(t, plain, st, "the %s build reads as the plain build", mode)
	}
	return decided, reachable
}

// imagegateStates scans an image holding the binary and returns each Go finding's
// reachability by every id it goes by.
func imagegateStates(t *testing.T, bin []byte) map[string]string {
	t.Helper()
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.Entry{Path: "usr/local/bin/app", Body: bin, Mode: 0o755})})
	res := scan(t, scanner.Request{Image: imagetest.DockerArchive(t, img, "corpus:1"), Checks: []string{scanner.ScannerVuln}, Policy: nil})
	out := map[string]string{}
	for _, f := range res.Findings {
		if f.Reachability == nil {
			continue
		}
		for _, id := range f.IDs() {
			out[id] = f.Reachability.State
		}
	}
	return out
}

// govulncheck runs the oracle in binary mode and returns, for every advisory it reports,
// whether a finding reaches a vulnerable symbol (a trace whose first frame names a
// function).
func govulncheck(t *testing.T, gv, db string, bin []byte) map[string]bool {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app")
	require.NoError(t, os.WriteFile(p, bin, 0o755))
	cmd := exec.Command(gv, "-mode=binary", "-db", "file://"+db, "-format", "json", p)
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("govulncheck: %v", err)
	}
	found := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var msg struct {
			Finding *struct {
				OSV   string `json:"osv"`
				Trace []struct {
					Function string `json:"function"`
				} `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err, "govulncheck's output: %s", out)
		}
		if f := msg.Finding; f != nil {
			found[f.OSV] = found[f.OSV] || len(f.Trace) > 0 && f.Trace[0].Function != ""
		}
	}
	return found
}

// flatGoDB unpacks the Go OSV export as govulncheck reads a local database: a folder of
// <ID>.json records.
func flatGoDB(t *testing.T, zipPath string) string {
	t.Helper()
	dir := t.TempDir()
	zr, err := zip.OpenReader(zipPath)
	require.NoError(t, err)
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") || strings.Contains(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f.Name), b, 0o644))
	}
	return dir
}

// goBuild builds the corpus program in dir for linux/amd64 with the toolchain running the
// test, offline (the module cache holds its modules).
func goBuild(t *testing.T, dir string, flags []string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "app")
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s (.ci/run downloads the corpus's modules): %s", dir, b)
	bin, err := os.ReadFile(out)
	require.NoError(t, err)
	return bin
}

// demoHealthcheck is the Go binary of the demo image.
func demoHealthcheck(t *testing.T) []byte {
	t.Helper()
	img, err := tarball.ImageFromPath(filepath.Join(imagetest.RepoRoot(t), "testdata", "demo", "demo-image.tar"), nil)
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range slices.Backward(layers) {
		rc, err := l.Uncompressed()
		require.NoError(t, err)
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.Name == "usr/local/bin/healthcheck" {
				b, err := io.ReadAll(tr)
				rc.Close()
				require.NoError(t, err)
				return b
			}
		}
		rc.Close()
	}
	t.Fatal("the demo image has no usr/local/bin/healthcheck")
	return nil
}
