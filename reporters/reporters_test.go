// Package reporters_test renders one rich scan result (vulnerabilities, Dockerfile
// findings, ignored and VEX-suppressed findings, findings below the threshold) in every
// format, compares each with a reviewed golden file (-update rewrites them) and validates
// the machine-readable ones against their official schemas.
package reporters_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/golden"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/schematest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/cyclonedx"
	jsonreport "github.com/imagegate/imagegate/reporters/json"
	"github.com/imagegate/imagegate/reporters/junit"
	"github.com/imagegate/imagegate/reporters/markdown"
	"github.com/imagegate/imagegate/reporters/sarif"
	"github.com/imagegate/imagegate/reporters/table"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/policy"
)

func TestMain(m *testing.M) {
	cache, _ := os.MkdirTemp("", "imagegate-reporters-cache")
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

// richResult scans the demo image with its Dockerfile, policy file and VEX document, at a
// medium threshold with --report-all, and makes paths repository-relative.
func richResult(t *testing.T) *report.Result {
	t.Helper()
	// Scan from the repository root with relative paths, as a CI step does: paths, and the
	// fingerprints made from them, are the same in every clone.
	t.Chdir(imagetest.RepoRoot(t))
	cfg, err := config.Load(filepath.Join("testdata", "demo", "imagegate.yaml"))
	require.NoError(t, err)
	doc, err := policy.LoadVEX(filepath.Join("testdata", "demo", "demo.openvex.json"))
	require.NoError(t, err)
	res, err := scanner.Scan(context.Background(), scanner.Options{
		Image:      filepath.Join("testdata", "demo", "demo-image.tar"),
		DB:         filepath.Join("testdata", "osv"),
		DBMaxAge:   100 * 365 * 24 * time.Hour,
		Dockerfile: filepath.Join("testdata", "demo", "Dockerfile"),
		Config:     cfg,
		Policy: &policy.Policy{
			Threshold: report.Medium, FailOnIssues: true, ReportAll: true,
			VEX: []*policy.VEX{doc}, Now: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		},
	})
	require.NoError(t, err)
	for i := range res.Data {
		// The data source is recorded as an absolute path.
		r, err := filepath.Rel(imagetest.RepoRoot(t), res.Data[i].Source)
		require.NoError(t, err)
		res.Data[i].Source = filepath.ToSlash(r)
	}
	var kept []string
	for _, w := range res.Warnings {
		if !strings.Contains(w, "days old") {
			kept = append(kept, w)
		}
	}
	res.Warnings = kept
	return res
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, "testdata/golden/"+name, got)
}

func TestRichResultHasEveryKind(t *testing.T) {
	res := richResult(t)
	kinds := map[string]bool{}
	for _, f := range res.Findings {
		kinds[string(f.Kind)] = true
		if f.Suppressed != nil {
			kinds["suppressed-"+f.Suppressed.Kind] = true
		}
		if f.BelowThreshold {
			kinds["below"] = true
		}
	}
	for _, k := range []string{"vulnerability", "dockerfile", "suppressed-ignore", "suppressed-vex", "below"} {
		assert.True(t, kinds[k], "the rich result has no %s finding", k)
	}
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "expired on 2024-01-31")
}

func TestReportersGolden(t *testing.T) {
	res := richResult(t)
	root := imagetest.RepoRoot(t)
	render := map[string]func(*bytes.Buffer) error{
		"report.table.txt": func(b *bytes.Buffer) error { return table.Write(b, res, table.Options{}) },
		"report.json":      func(b *bytes.Buffer) error { return jsonreport.Write(b, res) },
		"report.sarif":     func(b *bytes.Buffer) error { return sarif.Write(b, res, sarif.Options{BaseDir: root}) },
		"report.md":        func(b *bytes.Buffer) error { return markdown.Write(b, res, markdown.Options{}) },
		"report.junit.xml": func(b *bytes.Buffer) error { return junit.Write(b, res) },
		"report.cdx.json": func(b *bytes.Buffer) error {
			return cyclonedx.Write(b, res, cyclonedx.Options{Now: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)})
		},
	}
	for name, fn := range render {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, fn(&b))
			checkGolden(t, name, b.Bytes())
		})
	}
}

func TestReportsValidateAgainstSchemas(t *testing.T) {
	res := richResult(t)
	var b bytes.Buffer
	require.NoError(t, sarif.Write(&b, res, sarif.Options{}))
	assert.NoError(t, schematest.Validate(t, schematest.Compile(t, "sarif-2.1.0.json"), b.Bytes()))
	assert.NoError(t, schematest.Validate(t, schematest.Compile(t, "sarif-2.1.0-schemastore-draft07.json"), b.Bytes()))

	b.Reset()
	require.NoError(t, cyclonedx.Write(&b, res, cyclonedx.Options{}))
	assert.NoError(t, schematest.Validate(t, schematest.Compile(t, "cyclonedx/bom-1.6.schema.json"), b.Bytes()))

	b.Reset()
	require.NoError(t, junit.Write(&b, res))
	var x struct {
		XMLName xml.Name
		Tests   int `xml:"tests,attr"`
	}
	require.NoError(t, xml.Unmarshal(b.Bytes(), &x))
	assert.Equal(t, "testsuites", x.XMLName.Local)
	assert.Equal(t, len(res.Findings)+1, x.Tests)
}

func TestSARIFContent(t *testing.T) {
	res := richResult(t)
	var b bytes.Buffer
	require.NoError(t, sarif.Write(&b, res, sarif.Options{}))
	s := b.String()
	assert.Contains(t, s, `"id": "imagegate/image/demo-image.tar/"`)
	assert.Contains(t, s, `"security-severity"`)
	assert.Contains(t, s, `"uri": "testdata/demo/Dockerfile"`)
	assert.NotContains(t, s, `"uri": "/`, "locations are relative")
	assert.Contains(t, s, `"status": "accepted"`)
	assert.Contains(t, s, `imagegate/v1`)
	assert.NotContains(t, s, `: -1`, "defaults are left out")
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, `"uri":`) {
			uri := strings.TrimSuffix(strings.SplitN(line, `"uri": "`, 2)[1], `",`)
			uri = strings.TrimSuffix(uri, `"`)
			assert.NotContains(t, uri, ":", "code scanning takes repository paths, not URIs with schemes: %s", uri)
		}
	}
}

func TestFingerprintsAreStableAcrossRuns(t *testing.T) {
	a, b := richResult(t), richResult(t)
	require.Equal(t, len(a.Findings), len(b.Findings))
	fa, fb := map[string]bool{}, map[string]bool{}
	for i := range a.Findings {
		fa[a.Findings[i].Fingerprint] = true
		fb[b.Findings[i].Fingerprint] = true
	}
	assert.Equal(t, fa, fb)
	assert.Len(t, fa, len(a.Findings), "fingerprints are unique within a run")
}

func TestMarkdownStaysUnderTheLimit(t *testing.T) {
	res := richResult(t)
	for i := 0; i < 5; i++ { // 5,000+ findings
		res.Findings = append(res.Findings, res.Findings...)
	}
	var b bytes.Buffer
	require.NoError(t, markdown.Write(&b, res, markdown.Options{MaxSize: 64 << 10}))
	assert.LessOrEqual(t, b.Len(), 64<<10)
	assert.Contains(t, b.String(), "more: see the SARIF or JSON report")
	b.Reset()
	require.NoError(t, markdown.Write(&b, res, markdown.Options{}))
	assert.LessOrEqual(t, b.Len(), markdown.MaxSize)

	// SARIF keeps at most MaxResults results.
	b.Reset()
	require.NoError(t, sarif.Write(&b, res, sarif.Options{}))
	assert.Equal(t, sarif.MaxResults, strings.Count(b.String(), `"ruleId":`))
}
