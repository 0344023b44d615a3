package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
)

func TestDBImportStatusAndScan(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	records := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv-records")
	r := runCLI(t, "db", "import", "--db", db, records, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Debian: 6 records")
	assert.Regexp(t, `npm: \d+ records`, r.stdout)

	r = runCLI(t, "db", "status", "--db", db)
	require.Equal(t, 0, r.code, r.stderr)
	for _, eco := range []string{"Alpine", "Debian", "Go", "Maven", "PyPI", "crates.io", "npm"} {
		assert.Contains(t, r.stdout, eco)
	}

	// The imported database serves a scan.
	r = runCLI(t, "scan", demoPath(t), "--db", db, "--format", "json", "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"CVE-2021-44906"`) // minimist, from the npm export
}

func TestDBUpdateFromSource(t *testing.T) {
	ts := osvServer(t, map[string]string{"/npm/all.zip": filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip")})
	db := t.TempDir()
	r := runCLI(t, "db", "update", "--db", db, "--source", ts.URL, "--ecosystems", "npm")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "1 ecosystems updated, 0 unchanged")
	assert.Contains(t, r.stderr, "npm: downloading all.zip")
	r = runCLI(t, "db", "update", "--db", db, "--source", ts.URL, "--ecosystems", "npm")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "0 ecosystems updated, 1 unchanged")

	r = runCLI(t, "db", "update", "--db", db, "--source", ts.URL, "--ecosystems", "Cobol")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown ecosystem "Cobol"`)
	r = runCLI(t, "db", "update", "--db", db, "--source", ts.URL, "--ecosystems", "PyPI")
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stderr, "previous data is kept")
}

func TestScanWithoutDatabase(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-db")
	r := runCLI(t, "scan", demoPath(t), "--db", missing)
	assert.Equal(t, 3, r.code)
	assert.Empty(t, r.stdout, "never a report that says no vulnerabilities")
	assert.Contains(t, r.stderr, "no vulnerability database")
	assert.Contains(t, r.stderr, "imagegate db update")

	empty := t.TempDir()
	r = runCLI(t, "scan", demoPath(t), "--db", empty)
	assert.Equal(t, 3, r.code)

	corrupt := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(corrupt, "npm.json"), []byte(`{"ecosystem": "npm", "records": 1}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(corrupt, "npm.db"), []byte(strings.Repeat("x", 8192)), 0o644))
	r = runCLI(t, "scan", demoPath(t), "--db", corrupt)
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stderr, "rebuild")
}

func TestStaleDataWarns(t *testing.T) {
	r := runCLI(t, "scan", demoPath(t), "--format", "json", "--db-max-age", "24h", "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "vulnerability data for Go is")
	r = runCLI(t, "scan", demoPath(t), "--format", "json", "--db-max-age", "87600h", "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "days old")
}

// db update --ratings-from fetches an ecosystem for its severities alone, with the same
// conditional requests; a scan then borrows its ratings for the CVEs the scanned
// distribution leaves unrated, saying where each came from.
func TestDBUpdateRatingsFrom(t *testing.T) {
	root := imagetest.RepoRoot(t)
	ts := osvServer(t, map[string]string{
		"/Alpine/all.zip":    filepath.Join(root, "testdata", "osv", "Alpine", "all.zip"),
		"/AlmaLinux/all.zip": filepath.Join(root, "testdata", "osv-almalinux", "AlmaLinux", "all.zip"),
	})
	db := t.TempDir()
	r := runCLI(t, "db", "update", "--db", db, "--source", ts.URL, "--ecosystems", "Alpine", "--ratings-from", "AlmaLinux")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "AlmaLinux: the ratings of 23 records")
	assert.Contains(t, r.stdout, "2 ecosystems updated, 0 unchanged")
	r = runCLI(t, "db", "update", "--db", db, "--source", ts.URL, "--ecosystems", "Alpine", "--ratings-from", "AlmaLinux")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "0 ecosystems updated, 2 unchanged")

	// (Only Alpine data here: the npm and Go packages are not checked, allowed.)
	r = runCLI(t, "scan", filepath.Join(root, "testdata", "demo", "demo-image.tar"), "--db", db, "--db-max-age", "876000h", "--scanners", "vuln", "--allow-incomplete", "-f", "json")
	require.Equal(t, 1, r.code, r.stderr)
	var res report.Result
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	borrowed := 0
	for _, f := range res.Findings {
		if f.SeveritySource == "other-vendor" {
			borrowed++
			require.NotNil(t, f.Vendor)
			assert.Regexp(t, `^ALSA-`, f.Vendor.Source)
		}
	}
	assert.Positive(t, borrowed)
	assert.Positive(t, res.Verdict.Borrowed)
}

// osvServer serves files (URL path to file) as osv.dev's bucket does, with an ETag and
// conditional requests; it closes when the test ends.
func osvServer(t *testing.T, files map[string]string) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("If-None-Match") == `"1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"1"`)
		http.ServeFile(w, r, p)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// db status, given the signer, verifies a pulled folder again, offline: the genuine one
// passes, one whose index was swapped since (a restored cache altered) is exit 3.
func TestDBStatusVerifiesAPulledFolder(t *testing.T) {
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Host + "/imagegate/vulndb:1"
	_, priv, pub := imagetest.SigningKey(t)
	root := imagetest.RepoRoot(t)
	src, dst, other := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst"), filepath.Join(t.TempDir(), "other")
	r := runCLI(t, "db", "import", "--db", src, filepath.Join(root, "testdata", "osv", "npm", "all.zip"))
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, "db", "push", "--db", src, ref, "--insecure-registry", "--sign", "--key", priv)
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, "db", "pull", "--db", dst, ref, "--insecure-registry", "--verify-key", pub)
	require.Equal(t, 0, r.code, r.stderr)
	reg.Server.Close() // status never asks the registry

	r = runCLI(t, "db", "status", "--db", dst, "--verify-key", pub)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "signature verified when pulled and again now")
	// Without the signer it says only what the folder records, and that it did not check.
	r = runCLI(t, "db", "status", "--db", dst)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "as the folder records (not checked now")

	r = runCLI(t, "db", "import", "--db", other, filepath.Join(root, "testdata", "osv-records"))
	require.Equal(t, 0, r.code, r.stderr)
	for _, name := range []string{"npm.db", "npm.json", "npm.scores"} {
		b, err := os.ReadFile(filepath.Join(other, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, name), b, 0o644))
	}
	r = runCLI(t, "db", "status", "--db", dst, "--verify-key", pub)
	assert.Equal(t, 3, r.code, r.stdout)
	assert.Contains(t, r.stderr, "does not verify: the npm index is not the one the signature names")

	// The folder's marks are shown as data: a restored cache's terminal escapes are not
	// sent to the terminal.
	require.NoError(t, os.WriteFile(filepath.Join(dst, ".artifact"), []byte("evil\x1b]0;pwned\x07@sha256:00\n"), 0o644))
	r = runCLI(t, "db", "status", "--db", dst)
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "\x1b")
	assert.Contains(t, r.stdout, "artifact evil")
}
