package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
)

func demoFile(t *testing.T, name string) string {
	return filepath.Join(imagetest.RepoRoot(t), "testdata", "demo", name)
}

func TestSeveralOutputsInOneRun(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, "scan", demoPath(t), "--dockerfile", demoFile(t, "Dockerfile"),
		"--output", "sarif="+filepath.Join(dir, "out.sarif"),
		"--output", "json="+filepath.Join(dir, "out.json"),
		"--output", "markdown="+filepath.Join(dir, "summary.md"),
		"--output", "junit="+filepath.Join(dir, "junit.xml"),
		"--output", "cyclonedx="+filepath.Join(dir, "sbom.cdx.json"))
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Vulnerabilities (", "the table still goes to stdout")
	for _, f := range []string{"out.sarif", "out.json", "summary.md", "junit.xml", "sbom.cdx.json"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Greater(t, st.Size(), int64(100), f)
	}
}

func TestPolicyFromTheCommandLine(t *testing.T) {
	args := []string{"scan", demoPath(t), "--config", demoFile(t, "imagegate.yaml"), "--vex", demoFile(t, "demo.openvex.json"), "--format", "json"}
	r := runCLI(t, args...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, `"kind": "vex"`)
	assert.Contains(t, r.stdout, `"kind": "ignore"`)
	assert.Contains(t, r.stderr, "expired on 2024-01-31")

	// At critical, the one critical left (axios) still fails; minimist's is ignored.
	r = runCLI(t, append(args, "--severity-threshold", "critical")...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, `"CVE-2025-62718"`)
	assert.NotContains(t, r.stdout, `"severity": "HIGH"`, "below-threshold findings are left out")
	r = runCLI(t, append(args, "--severity-threshold", "critical", "--report-all")...)
	assert.Contains(t, r.stdout, `"belowThreshold": true`)
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	badYAML := writeFile(t, dir, "bad.yaml", "ignore:\n  - id: CVE-2021-44906\n    reason: ok\n  - id: CVE-2022-24999\n    expires: 2027-01-01\n")
	badVEX := writeFile(t, dir, "bad.vex.json", "{\n  \"@context\": \"https://openvex.dev/ns/v0.2.0\",\n  \"statements\": [ oops ]\n}\n")
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"--config", badYAML}, "bad.yaml:4: an ignore entry needs a reason"},
		{[]string{"--vex", badVEX}, "bad.vex.json:3"},
		{[]string{"--severity-threshold", "urgent"}, "--severity-threshold"},
		{[]string{"--format", "pdf"}, `format "pdf"`},
		{[]string{"--output", "sarif=" + filepath.Join(dir, "missing", "x.sarif")}, "does not exist"},
		{[]string{"--output", "xml=" + filepath.Join(dir, "x.xml")}, `format "xml"`},
	}
	for _, c := range cases {
		r := runCLI(t, append([]string{"scan", demoPath(t)}, c.args...)...)
		assert.Equal(t, 2, r.code, "%v: %s", c.args, r.stderr)
		assert.Contains(t, r.stderr, c.msg, c.args)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
		assert.Empty(t, r.stdout)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "nothing half-written")
}
