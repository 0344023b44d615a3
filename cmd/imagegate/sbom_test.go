package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/schematest"
)

// vulnFacts are the vulnerability findings of a JSON report, as comparable lines.
func vulnFacts(t *testing.T, report []byte) []string {
	t.Helper()
	var r struct {
		Findings []struct {
			Kind, ID, Severity, Origin string
			Layer                      int
			FixedVersions              []string
			Package                    *struct{ Name, Version, Ecosystem string }
		}
	}
	require.NoError(t, json.Unmarshal(report, &r))
	var out []string
	for _, f := range r.Findings {
		if f.Kind != "vulnerability" {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s@%s %s layer=%d origin=%s fixed=%v", f.ID, f.Severity, f.Package.Name, f.Package.Version, f.Package.Ecosystem, f.Layer, f.Origin, f.FixedVersions))
	}
	sort.Strings(out)
	return out
}

// The SBOM of the demo image validates against CycloneDX 1.6 and, scanned with --sbom,
// gives the same vulnerability findings as the image itself.
func TestSBOMRoundTrip(t *testing.T) {
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	bomPath := filepath.Join(t.TempDir(), "demo.cdx.json")
	r := runCLI(t, "sbom", "docker-archive:"+demoPath(t), "-o", bomPath)
	require.Equal(t, 0, r.code, r.stderr)
	bom, err := os.ReadFile(bomPath)
	require.NoError(t, err)
	require.NoError(t, schematest.Validate(t, schematest.Compile(t, "cyclonedx/bom-1.6.schema.json"), bom))
	var doc struct {
		Components []struct{ Purl string }
		Metadata   struct {
			Component struct {
				Properties []struct{ Name, Value string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(bom, &doc))
	require.NotEmpty(t, doc.Components)

	image := runCLI(t, "scan", "docker-archive:"+demoPath(t), "--db", db, "--scanners", "vuln", "-f", "json", "--fail-on-issues=false")
	require.Equal(t, 0, image.code, image.stderr)
	fromSBOM := runCLI(t, "scan", "--sbom", bomPath, "--db", db, "-f", "json", "--fail-on-issues=false")
	require.Equal(t, 0, fromSBOM.code, fromSBOM.stderr)
	want := vulnFacts(t, []byte(image.stdout))
	require.NotEmpty(t, want)
	assert.Equal(t, want, vulnFacts(t, []byte(fromSBOM.stdout)))

	// The gate works the same on the SBOM.
	gate := runCLI(t, "scan", "--sbom", bomPath, "--db", db, "--severity-threshold", "critical")
	assert.Equal(t, 1, gate.code)
	// --exclude-base uses the split the SBOM recorded.
	excl := runCLI(t, "scan", "--sbom", bomPath, "--db", db, "-f", "json", "--fail-on-issues=false", "--exclude-base")
	require.Equal(t, 0, excl.code, excl.stderr)
	for _, f := range vulnFacts(t, []byte(excl.stdout)) {
		assert.NotContains(t, f, "origin=base")
	}
}

// Another tool's SBOM (no imagegate properties) is read from purls alone.
func TestScanForeignSBOM(t *testing.T) {
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	bom := `{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
	  "components": [
	    {"type": "library", "name": "minimist", "version": "1.2.5", "purl": "pkg:npm/minimist@1.2.5"},
	    {"type": "library", "name": "musl", "version": "1.2.5-r0", "purl": "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.2"},
	    {"type": "library", "name": "no-purl", "version": "1.0"},
	    {"type": "library", "name": "lodash", "version": "UNKNOWN", "purl": "pkg:npm/lodash@UNKNOWN"}
	  ]}`
	path := filepath.Join(t.TempDir(), "other.cdx.json")
	require.NoError(t, os.WriteFile(path, []byte(bom), 0o644))
	r := runCLI(t, "scan", "--sbom", path, "--db", db, "-f", "json", "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	facts := vulnFacts(t, []byte(r.stdout))
	assert.Contains(t, facts, "CVE-2021-44906 CRITICAL minimist@1.2.5 npm layer=-1 origin= fixed=[1.2.6]")
	assert.Contains(t, r.stderr, `component "no-purl"`)
	// syft's UNKNOWN would fall in every one of lodash's ranges: compared with none, said.
	for _, f := range facts {
		assert.NotContains(t, f, "lodash", "a version that says nothing matches no advisory")
	}
	assert.Contains(t, r.stderr, "have no version to compare (UNKNOWN, empty, * or latest) and were not checked for vulnerabilities: lodash (npm)")
	var rep struct {
		Packages []struct{ Name, Ecosystem string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.Contains(t, rep.Packages, struct{ Name, Ecosystem string }{"musl", "Alpine:v3.20"})

	// Hostile numbers are bounded: no layer table is built from them.
	huge := `{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
	  "metadata": {"component": {"type": "container", "name": "x", "properties": [
	    {"name": "imagegate:base-layers", "value": "9223372036854775807"}, {"name": "imagegate:attribution", "value": "history"}]}},
	  "components": [{"type": "library", "name": "minimist", "version": "1.2.5", "purl": "pkg:npm/minimist@1.2.5",
	    "properties": [{"name": "imagegate:layer", "value": "9223372036854775806"}]}]}`
	require.NoError(t, os.WriteFile(path, []byte(huge), 0o644))
	r = runCLI(t, "scan", "--sbom", path, "--db", db, "-f", "json", "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, vulnFacts(t, []byte(r.stdout)), "CVE-2021-44906 CRITICAL minimist@1.2.5 npm layer=9223372036854775806 origin=base fixed=[1.2.6]")

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"bomFormat": "SPDX"}`), 0o644))
	r = runCLI(t, "scan", "--sbom", bad, "--db", db)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "bomFormat")
	r = runCLI(t, "scan", "--sbom", bad, "alpine")
	assert.Equal(t, 2, r.code)
}

// --timeout bounds the whole run: past it the scan stops with exit 3 and says so.
func TestTimeout(t *testing.T) {
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	r := runCLI(t, "scan", "docker-archive:"+demoPath(t), "--db", db, "--timeout", "1ns")
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stderr, "did not finish within --timeout 1ns")
	assert.Empty(t, r.stdout, "no partial report")
	r = runCLI(t, "scan", "docker-archive:"+demoPath(t), "--db", db, "--timeout", "-1s")
	assert.Equal(t, 2, r.code)
}
