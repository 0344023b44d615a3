package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
)

type incompleteReport struct {
	Incomplete []string `json:"incomplete"`
	Verdict    struct {
		Pass       bool `json:"pass"`
		Incomplete int  `json:"incomplete"`
	} `json:"verdict"`
}

func paddedPackage(t *testing.T, pkg string) string {
	img := imagetest.Image(t, "linux/amd64",
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/alpine320")...)},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("app/node_modules/minimist/package.json", []byte(pkg)))},
	)
	return imagetest.DockerArchive(t, img, "app:1")
}

// A scan that did not analyse everything fails closed (exit 3) and says what it left out;
// a vulnerable npm package padded past the file-size limit still yields its finding (its
// name and version are read from the start of the file); --allow-incomplete lets the
// findings alone decide, and says so.
func TestIncompleteScanFailsClosed(t *testing.T) {
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	pad := strings.Repeat("x", 20000)
	after := paddedPackage(t, `{"name": "minimist", "version": "1.2.5", "description": "`+pad+`"}`)
	before := paddedPackage(t, `{"description": "`+strings.Repeat("x", 2<<20)+`", "name": "minimist", "version": "1.2.5"}`)

	// Whole, the finding fails the gate (exit 1).
	r := runCLI(t, "scan", "--db", db, "--scanners", "vuln", after, "-f", "json")
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stdout, "CVE-2021-44906")

	// Over the limit, name and version first: the finding is still there, nothing is
	// missing for the vulnerability scan.
	r = runCLI(t, "scan", "--db", db, "--scanners", "vuln", "--max-file-size", "16384", after, "-f", "json")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stdout, "CVE-2021-44906")
	// With the secret scan on, its text was not searched: incomplete.
	r = runCLI(t, "scan", "--db", db, "--max-file-size", "16384", after, "-f", "json")
	assert.Equal(t, 3, r.code, r.stderr)
	assert.Contains(t, r.stdout, "CVE-2021-44906")
	assert.Contains(t, r.stdout, "its text was not searched")

	// Name and version past what is read: not analysed, exit 3, listed in the report.
	r = runCLI(t, "scan", "--db", db, "--scanners", "vuln", "--max-file-size", "16384", "--fail-on-issues=false", before, "-f", "json")
	assert.Equal(t, 3, r.code, r.stderr)
	var doc incompleteReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), r.stdout)
	require.Len(t, doc.Incomplete, 1)
	assert.Contains(t, doc.Incomplete[0], "app/node_modules/minimist/package.json")
	assert.False(t, doc.Verdict.Pass)
	assert.Equal(t, 1, doc.Verdict.Incomplete)
	assert.Contains(t, r.stderr, "imagegate: not analysed: layer 1: app/node_modules/minimist/package.json")
	assert.Contains(t, r.stderr, "the gate fails closed")

	// The table says so too.
	r = runCLI(t, "scan", "--db", db, "--scanners", "vuln", "--max-file-size", "16384", before)
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stdout, "Not analysed (1)")
	assert.Contains(t, r.stdout, "FAIL the scan is incomplete")

	// Allowed: the findings alone decide, and the verdict says the scan was incomplete.
	// (Alpine's advisories carry no severity: at high they pass only when unknown-severity
	// says so, and the verdict counts them.)
	r = runCLI(t, "scan", "--db", db, "--scanners", "vuln", "--max-file-size", "16384", "--allow-incomplete", "--severity-threshold", "high", "--unknown-severity", "pass", before)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `the scan is incomplete \(1 not analysed, allowed; checks run: vulnerability; unknown severity: pass, [1-9]\d* let through\)`, r.stdout)
	r = runCLI(t, "scan", "--db", db, "--scanners", "vuln", "--max-file-size", "16384", "--allow-incomplete", "--severity-threshold", "high", before)
	assert.Equal(t, 1, r.code, "by default findings of unknown severity count: %s", r.stderr)
}

// A check that did not run is "not run" in every format, never "none found", and the
// verdict names the checks it covered.
func TestChecksNotRunAreSaidInEveryFormat(t *testing.T) {
	for _, format := range []string{"table", "markdown", "json", "sarif", "junit"} {
		t.Run(format, func(t *testing.T) {
			r := runCLI(t, "scan", demoPath(t), "--scanners", "config", "--fail-on-issues=false", "-f", format)
			require.Equal(t, 0, r.code, r.stderr)
			assert.NotContains(t, r.stdout, "Vulnerabilities: none found")
			switch format {
			case "table":
				assert.Contains(t, r.stdout, "Vulnerabilities: not run")
				assert.Contains(t, r.stdout, "Secrets: not run")
				assert.Contains(t, r.stdout, "checks run: image;")
			case "markdown":
				assert.Regexp(t, `\| CRITICAL \| not run \| not run \| \d+ \| not run \|`, r.stdout)
				assert.Contains(t, r.stdout, "checks run: image;")
			case "json", "sarif":
				assert.Regexp(t, `"checks": \[\s*"image"\s*\]`, r.stdout)
			case "junit":
				assert.Contains(t, r.stdout, `<testcase name="Vulnerabilities: not run"`)
				assert.Contains(t, r.stdout, `<testcase name="Secrets: not run"`)
			}
		})
	}
}

// A scan whose checks have nothing to look at is an input error, never a pass on nothing.
func TestNoCheckCanRun(t *testing.T) {
	r := runCLI(t, "scan", demoPath(t), "--scanners", "dockerfile")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "no check can run")
	assert.Empty(t, r.stdout)
}
