package markdown_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/markdown"
)

// Strings an image under test controls: os-release, package names and versions, paths,
// advisory titles and links. None of them may add HTML or Markdown to the summary, hide
// the verdict, or leave its table cell.
func TestHostileStringsStayData(t *testing.T) {
	hostile := "<h2>✅ PASS - 0 findings</h2><!--"
	res := &report.Result{
		Image:   &report.ImageInfo{Name: "app`` | <b>x</b>", Transport: "docker-archive"},
		OS:      &report.OS{PrettyName: hostile},
		Verdict: report.Verdict{Pass: false, Threshold: report.Low, FailOnIssues: true, AtOrAboveThreshold: 2},
		Findings: []report.Finding{
			{
				Kind: report.KindVulnerability, ID: "CVE-1 | x", Severity: report.Critical,
				Title:         "pwn ]( javascript:alert(1) ) <img src=x onerror=alert(1)>\n## injected heading",
				References:    []string{"javascript:alert(1)"},
				Package:       &report.PackageRef{Name: "evil`|`pkg", Version: "1.0\n| forged | row |"},
				FixedVersions: []string{"2.0 <!--"},
			},
			{
				Kind: report.KindVulnerability, ID: "CVE-2", Severity: report.High, Title: "ok",
				References: []string{"https://example.com/a (b)|c"},
				Package:    &report.PackageRef{Name: "fine", Version: "1"},
			},
		},
	}
	var b strings.Builder
	require.NoError(t, markdown.Write(&b, res, markdown.Options{}))
	out := b.String()
	assert.True(t, strings.HasPrefix(out, "## imagegate: ❌ FAIL\n"), out)
	for _, bad := range []string{"<h2>", "<!--", "<img", "](javascript:", "\n## injected"} {
		assert.NotContains(t, out, bad)
	}
	// In a code span HTML is shown, not rendered; the span's fence outlasts the backticks.
	assert.Contains(t, out, "``` docker-archive:app`` \\| <b>x</b> ```")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "#") {
			assert.True(t, strings.HasPrefix(line, "## imagegate:") || strings.HasPrefix(line, "### "), line)
		}
		if strings.Contains(line, "(layer ") {
			// Four cells: five unescaped pipes, whatever the strings held.
			assert.Len(t, regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1), 5, line)
		}
	}
	assert.Contains(t, out, "(https://example.com/a%20%28b%29%7Cc)", "an advisory link stays one link")
}
