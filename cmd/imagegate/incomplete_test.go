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

// A scan that did not analyse everything fails closed: a vulnerable npm package whose
// package.json is over the file-size limit makes the run incomplete (exit 3, the reports
// say what was not analysed) instead of passing without its finding; --allow-incomplete
// lets the gate decide on the findings alone, and says so.
func TestIncompleteScanFailsClosed(t *testing.T) {
	pkg := `{"name": "minimist", "version": "1.2.5", "description": "` + strings.Repeat("x", 20000) + `"}`
	img := imagetest.Image(t, "linux/amd64",
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/alpine320")...)},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("app/node_modules/minimist/package.json", []byte(pkg)))},
	)
	archive := imagetest.DockerArchive(t, img, "app:1")
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")

	// Whole, the finding fails the gate (exit 1).
	r := runCLI(t, "scan", "--db", db, "--scanners", "vuln", archive, "-f", "json")
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stdout, "CVE-2021-44906")

	// Over the limit: exit 3, the report lists what was not analysed.
	r = runCLI(t, "scan", "--db", db, "--scanners", "vuln", "--max-file-size", "16384", "--fail-on-issues=false", archive, "-f", "json")
	assert.Equal(t, 3, r.code, r.stderr)
	var doc struct {
		Incomplete []string `json:"incomplete"`
		Verdict    struct {
			Pass       bool `json:"pass"`
			Incomplete int  `json:"incomplete"`
		} `json:"verdict"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), r.stdout)
	require.Len(t, doc.Incomplete, 1)
	assert.Contains(t, doc.Incomplete[0], "app/node_modules/minimist/package.json")
	assert.False(t, doc.Verdict.Pass)
	assert.Equal(t, 1, doc.Verdict.Incomplete)
	assert.Contains(t, r.stderr, "imagegate: not analysed: layer 1: app/node_modules/minimist/package.json")
	assert.Contains(t, r.stderr, "the gate fails closed")

	// The table says so too.
	r = runCLI(t, "scan", "--db", db, "--scanners", "vuln", "--max-file-size", "16384", archive)
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stdout, "Not analysed (1)")
	assert.Contains(t, r.stdout, "FAIL the scan is incomplete")

	// Allowed: the findings alone decide, and the verdict says the scan was incomplete.
	r = runCLI(t, "scan", "--db", db, "--scanners", "vuln", "--max-file-size", "16384", "--allow-incomplete", "--severity-threshold", "high", archive)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "the scan is incomplete (1 not analysed, allowed)")
}
