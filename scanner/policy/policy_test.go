package policy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/policy"
)

func vuln(id string, sev report.Severity, name, version, purl string, aliases ...string) report.Finding {
	return report.Finding{
		Kind: report.KindVulnerability, ID: id, Aliases: aliases, Severity: sev, Layer: 1,
		Package: &report.PackageRef{Name: name, Version: version, Ecosystem: "npm", PURL: purl, Locations: []string{"usr/src/app/node_modules/" + name + "/package.json"}},
	}
}

func rule(id string, sev report.Severity) report.Finding {
	return report.Finding{Kind: report.KindDockerfile, ID: id, Severity: sev, Layer: -1,
		Rule: &report.Rule{ID: id}, Location: &report.Location{Path: "build/Dockerfile", StartLine: 3, EndLine: 3}}
}

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func sample() []report.Finding {
	return []report.Finding{
		vuln("CVE-2021-44906", report.Critical, "minimist", "1.2.5", "pkg:npm/minimist@1.2.5", "GHSA-xvch-5gv4-984h"),
		vuln("CVE-2022-24999", report.High, "qs", "6.7.0", "pkg:npm/qs@6.7.0"),
		vuln("CVE-2020-28168", report.Medium, "axios", "0.21.0", "pkg:npm/axios@0.21.0"),
		vuln("CVE-2024-0001", report.Unknown, "lodash", "4.17.20", "pkg:npm/lodash@4.17.20"),
		rule("DF003", report.Medium),
		rule("DF017", report.Low),
	}
}

func ids(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestThresholdAndReportAll(t *testing.T) {
	cases := []struct {
		threshold report.Severity
		reportAll bool
		failOn    bool
		reported  []string
		below     []string
		meets     int
		pass      bool
	}{
		{report.Low, false, true, ids(sample()), nil, 6, false},
		{report.Medium, false, true, []string{"CVE-2021-44906", "CVE-2022-24999", "CVE-2020-28168", "DF003"}, nil, 4, false},
		{report.Critical, false, true, []string{"CVE-2021-44906"}, nil, 1, false},
		{report.Critical, true, true, ids(sample()), []string{"CVE-2022-24999", "CVE-2020-28168", "CVE-2024-0001", "DF003", "DF017"}, 1, false},
		{report.High, false, false, []string{"CVE-2021-44906", "CVE-2022-24999"}, nil, 2, true},
	}
	for _, c := range cases {
		// Unknown severity counted as low: these cases are about the threshold.
		out, v, _ := policy.Apply(sample(), policy.Policy{Threshold: c.threshold, Unknown: "low", ReportAll: c.reportAll, FailOnIssues: c.failOn, Now: now})
		assert.Equal(t, c.reported, ids(out), "threshold %s report-all %v", c.threshold, c.reportAll)
		var below []string
		for _, f := range out {
			if f.BelowThreshold {
				below = append(below, f.ID)
			}
		}
		assert.Equal(t, c.below, below)
		assert.Equal(t, c.meets, v.AtOrAboveThreshold)
		assert.Equal(t, c.pass, v.Pass)
	}
}

// Findings of unknown severity count whatever the threshold by default (fail closed); pass
// lets them through, a level counts them as that level; the verdict says which and how
// many were let through.
func TestUnknownSeverity(t *testing.T) {
	for _, c := range []struct {
		setting   string
		threshold report.Severity
		meets     int
		passed    int
	}{
		{"", report.High, 3, 0},         // the default: fail
		{"fail", report.Critical, 2, 0}, // CVE-2021-44906 and the unknown one
		{"pass", report.High, 2, 1},
		{"pass", report.Low, 5, 1},
		{"high", report.High, 3, 0},
		{"high", report.Critical, 1, 1},
		{"medium", report.Medium, 5, 0},
	} {
		p := policy.Policy{Threshold: c.threshold, FailOnIssues: true, Now: now}
		if c.setting != "" {
			var err error
			p.Unknown, err = policy.ParseUnknown(c.setting)
			require.NoError(t, err)
		}
		_, v, _ := policy.Apply(sample(), p)
		assert.Equal(t, c.meets, v.AtOrAboveThreshold, "%q at %s", c.setting, c.threshold)
		assert.Equal(t, c.passed, v.UnknownPassed, "%q at %s", c.setting, c.threshold)
		want := c.setting
		if want == "" {
			want = "fail"
		}
		assert.Equal(t, want, v.UnknownSeverity)
		assert.Contains(t, v.Note(), fmt.Sprintf("%d let through", c.passed))
	}
	for _, bad := range []string{"unknown", "severe", "none"} {
		_, err := policy.ParseUnknown(bad)
		assert.Error(t, err, bad)
	}
	got, err := policy.ParseUnknown(" High ")
	require.NoError(t, err)
	assert.Equal(t, "high", got)
}

func TestIgnoresAndExpiry(t *testing.T) {
	p := policy.Policy{Threshold: report.Low, FailOnIssues: true, Now: now, Ignores: []policy.Ignore{
		{ID: "GHSA-xvch-5gv4-984h", Reason: "flags only", Source: "a.yaml:2"},                              // by alias
		{Package: "pkg:npm/qs", Versions: ">=6.0.0, <6.7.3", Reason: "front end only", Source: "a.yaml:5"}, // by purl range
		{Package: "pkg:npm/axios", Versions: "<0.21.0", Reason: "older only", Source: "a.yaml:8"},          // does not cover 0.21.0
		{Rule: "DF003", Reason: "pinned in release", Source: "a.yaml:11"},
		{Path: "usr/src/app/node_modules/**/package.json", ID: "CVE-2024-0001", Reason: "expired", Expires: "2026-11-26", Source: "a.yaml:14"},
		{Path: "build/*", Rule: "DF017", Reason: "valid today", Expires: "2026-11-27", Source: "a.yaml:17"},
	}}
	out, v, warnings := policy.Apply(sample(), p)
	suppressed := map[string]string{}
	for _, f := range out {
		if f.Suppressed != nil {
			assert.Equal(t, "ignore", f.Suppressed.Kind)
			suppressed[f.ID] = f.Suppressed.Source
		}
	}
	assert.Equal(t, map[string]string{"CVE-2021-44906": "a.yaml:2", "CVE-2022-24999": "a.yaml:5", "DF003": "a.yaml:11", "DF017": "a.yaml:17"}, suppressed)
	assert.Len(t, out, 6, "suppressed findings stay in the reports")
	assert.Equal(t, 4, v.Suppressed)
	assert.Equal(t, 2, v.AtOrAboveThreshold, "axios and lodash still count")
	assert.False(t, v.Pass)
	require.Len(t, warnings, 2)
	assert.Contains(t, warnings[0], "a.yaml:14 expired on 2026-11-26")
	// The axios range below 0.21.0 accepts nothing here: said, so the entry is fixed or
	// removed. An entry shadowed by an earlier one that matches the same finding still
	// counts as matching.
	assert.Equal(t, "ignore entry a.yaml:8 matched no finding in this scan: remove it if what it accepted is gone", warnings[1])
	p2 := p
	p2.Ignores = append([]policy.Ignore{{ID: "CVE-2021-44906", Reason: "first", Source: "b.yaml:1"}}, p.Ignores...)
	_, _, warnings = policy.Apply(sample(), p2)
	for _, w := range warnings {
		assert.NotContains(t, w, "a.yaml:2 matched no finding", "a.yaml:2 also matches minimist's advisory")
	}

	// Everything accepted: the gate passes.
	p.Ignores = append(p.Ignores, policy.Ignore{Package: "pkg:npm/axios", Reason: "r", Source: "x"}, policy.Ignore{ID: "CVE-2024-0001", Reason: "r", Source: "y"})
	_, v, _ = policy.Apply(sample(), p)
	assert.True(t, v.Pass)
}

func TestIgnoreValidation(t *testing.T) {
	bad := []policy.Ignore{
		{ID: "CVE-1"}, // no reason
		{Reason: "r"}, // nothing to match
		{ID: "CVE-1", Reason: "r", Expires: "31/01/2027"},
		{Package: "npm/lodash", Reason: "r"},
		{Package: "pkg:npm/lodash", Versions: "4.17.20", Reason: "r"},
		{Versions: "<1", Reason: "r", ID: "x"},
		{Path: "[", Reason: "r"},
	}
	for _, ig := range bad {
		assert.Error(t, ig.Validate(), "%+v", ig)
	}
	assert.NoError(t, policy.Ignore{Package: "pkg:npm/lodash", Versions: ">=4, <4.17.21", Reason: "r"}.Validate())
}

func TestVEX(t *testing.T) {
	doc, err := policy.LoadVEX(filepath.Join(imagetest.RepoRoot(t), "testdata", "demo", "demo.openvex.json"))
	require.NoError(t, err)
	fs := []report.Finding{
		{Kind: report.KindVulnerability, ID: "CVE-2023-45288", Aliases: []string{"GO-2024-2687"}, Severity: report.Unknown,
			Package: &report.PackageRef{Name: "stdlib", Version: "1.22.0", Ecosystem: "Go", PURL: "pkg:golang/stdlib@1.22.0"}},
		{Kind: report.KindVulnerability, ID: "GO-2024-2687-other", Aliases: []string{"CVE-2023-45288"}, Severity: report.High,
			Package: &report.PackageRef{Name: "stdlib", Version: "1.21.0", Ecosystem: "Go", PURL: "pkg:golang/stdlib@1.21.0"}},
		vuln("CVE-2024-45590", report.High, "body-parser", "1.19.0", "pkg:npm/body-parser@1.19.0"),
	}
	out, v, _ := policy.Apply(fs, policy.Policy{Threshold: report.Low, FailOnIssues: true, VEX: []*policy.VEX{doc}, Now: now})
	require.NotNil(t, out[0].Suppressed)
	assert.Equal(t, "vex", out[0].Suppressed.Kind)
	assert.Contains(t, out[0].Suppressed.Reason, "not_affected: vulnerable_code_not_in_execute_path")
	assert.Nil(t, out[1].Suppressed, "the statement names stdlib 1.22.0 only")
	require.NotNil(t, out[2].Suppressed)
	assert.Contains(t, out[2].Suppressed.Reason, "fixed")
	assert.Equal(t, 1, v.AtOrAboveThreshold)
}

func TestBadVEX(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	cases := map[string]string{
		write("syntax.json", "{\n  \"@context\": \"https://openvex.dev/ns/v0.2.0\",\n  \"statements\": [\n    {,}\n  ]\n}\n"): "syntax.json:4",
		write("other.json", `{"hello": "world"}`): "not an OpenVEX document",
		write("noj.json", `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/x"}], "status": "not_affected"}]}`): "statement 1",
		filepath.Join(dir, "missing.json"): "no such file",
	}
	for path, msg := range cases {
		_, err := policy.LoadVEX(path)
		require.Error(t, err, path)
		assert.Equal(t, failure.ExitInput, failure.Code(err))
		assert.Contains(t, err.Error(), msg)
	}
}

// Baselines of one image's platforms (from a --platform all report): each platform takes
// its own; an image no report names has every finding new, said in a warning.
func TestBaselinePerPlatform(t *testing.T) {
	dir := t.TempDir()
	load := func(platform, fp string) *policy.Baseline {
		p := filepath.Join(dir, strings.ReplaceAll(platform, "/", "-")+".json")
		require.NoError(t, os.WriteFile(p, []byte(`{"schemaVersion":"1.0","image":{"name":"app:1","platform":"`+platform+`"},"findings":[{"id":"CVE-1","fingerprint":"`+fp+`"}]}`), 0o644))
		b, err := policy.LoadBaseline(p)
		require.NoError(t, err)
		return b
	}
	amd, arm := load("linux/amd64", "fp-amd"), load("linux/arm64", "fp-arm")
	f := report.Finding{Kind: report.KindVulnerability, ID: "CVE-1", Severity: report.High, Fingerprint: "fp-arm"}
	for _, c := range []struct {
		name, platform, want string
	}{
		{"app:1", "linux/arm64", report.BaselineUnchanged},
		{"app:1", "linux/amd64", report.BaselineNew},
		{"app:2", "linux/arm64", report.BaselineNew},
	} {
		p := policy.Default
		p.Baselines, p.ImageIDs, p.ImagePlatform = []*policy.Baseline{amd, arm}, []string{c.name}, c.platform
		out, _, warnings := policy.Apply([]report.Finding{f}, p)
		require.Len(t, out, 1)
		assert.Equal(t, c.want, out[0].Baseline, "%s %s", c.name, c.platform)
		if c.name == "app:2" {
			assert.Contains(t, strings.Join(warnings, "\n"), "no baseline report names the image app:2")
		}
	}
}
