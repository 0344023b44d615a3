package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestLintExitCodesAndThreshold(t *testing.T) {
	dir := t.TempDir()
	df := writeFile(t, dir, "Dockerfile", "FROM alpine:3.20\nRUN apk add curl\nCMD [\"sh\"]\n")

	r := runCLI(t, "lint", df)
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Regexp(t, `2\s+LOW\s+DF022\s+apk install of curl without versions`, r.stdout)
	assert.Contains(t, r.stdout, "FAIL")

	// DF001 (high) is the most severe finding: a critical threshold passes.
	r = runCLI(t, "lint", df, "--severity-threshold", "critical")
	assert.Equal(t, 0, r.code, r.stdout)
	r = runCLI(t, "lint", df, "--severity-threshold", "high")
	assert.Equal(t, 1, r.code)
	r = runCLI(t, "lint", df, "--fail-on-issues=false")
	assert.Equal(t, 0, r.code)

	r = runCLI(t, "lint", df, "--format", "json")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, `"kind": "dockerfile"`)
	assert.Contains(t, r.stdout, `"startLine": 2`)

	for _, bad := range [][]string{
		{"lint", df, "--severity-threshold", "severe"},
		{"lint", df, "--fail-on-issues=maybe"},
		{"lint"},
		{"lint", filepath.Join(dir, "missing")},
	} {
		r := runCLI(t, bad...)
		assert.Equal(t, 2, r.code, "%v: %s", bad, r.stderr)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	}
}

func TestLintConfigFile(t *testing.T) {
	dir := t.TempDir()
	df := writeFile(t, dir, "Dockerfile", "FROM alpine:3.20\nRUN apk add curl\nUSER app\nHEALTHCHECK CMD [\"true\"]\n")
	cfg := writeFile(t, dir, "imagegate.yaml", "dockerfile:\n  disable: [DF003, DL3018]\n  severity:\n    DF021: critical\n")
	r := runCLI(t, "lint", df, "--config", cfg, "--format", "json", "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, `"DF003"`)
	assert.NotContains(t, r.stdout, `"DF022"`)
	assert.Regexp(t, `"id": "DF021",\s+"title": "apk add without --no-cache",\s+"severity": "CRITICAL"`, r.stdout)

	// Bad config: one line naming the file and the line.
	bad := writeFile(t, dir, "bad.yaml", "dockerfile:\n  disable: [DF003]\n  sevrity:\n    DF021: high\n")
	r = runCLI(t, "lint", df, "--config", bad)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "bad.yaml")
	assert.Contains(t, r.stderr, "line 3")
	badSev := writeFile(t, dir, "badsev.yaml", "dockerfile:\n  severity:\n    DF021: terrible\n")
	r = runCLI(t, "lint", df, "--config", badSev)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "terrible")
}

func TestScanWithDockerfile(t *testing.T) {
	dir := t.TempDir()
	df := writeFile(t, dir, "Dockerfile", "FROM alpine:3.20\nWORKDIR /usr/src/app\nCOPY . .\nCMD node server.js\n")
	r := runCLI(t, "scan", demoPath(t), "--dockerfile", df, "--format", "json", "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"kind": "vulnerability"`)
	assert.Contains(t, r.stdout, `"kind": "dockerfile"`)
	assert.Contains(t, r.stdout, `"DF042"`)

	r = runCLI(t, "scan", demoPath(t), "--dockerfile", filepath.Join(dir, "nope"))
	assert.Equal(t, 2, r.code)
	assert.Empty(t, r.stdout)
}
