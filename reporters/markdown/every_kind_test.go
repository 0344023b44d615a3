package markdown_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/reporttest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/markdown"
)

func TestEveryKind(t *testing.T) {
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, markdown.Write(&b, res, markdown.Options{}))
	out := b.String()
	reporttest.AssertShowsEveryKind(t, res, out)
	assert.Contains(t, out, "| Severity | Vulnerabilities | Dockerfile | Image configuration | Secrets |")
	assert.Contains(t, out, "<summary>All: Secrets (1)</summary>")
	assert.Contains(t, out, "`/usr/src/app/config/.env` · layer 3")
	assert.NotContains(t, out, reporttest.AWSSecret)
	reporttest.Golden(t, "reporters/markdown", "md", b.Bytes())
}

// Many findings: the summary stays under the size GitHub accepts, saying what it left out.
func TestStaysUnderTheLimit(t *testing.T) {
	res := reporttest.EveryKind(t)
	for range 5 { // 5,000+ findings
		res.Findings = append(res.Findings, res.Findings...)
	}
	var b bytes.Buffer
	require.NoError(t, markdown.Write(&b, res, markdown.Options{MaxSize: 64 << 10}))
	assert.LessOrEqual(t, b.Len(), 64<<10)
	assert.Contains(t, b.String(), "more: see the SARIF or JSON report")
	b.Reset()
	require.NoError(t, markdown.Write(&b, res, markdown.Options{}))
	assert.LessOrEqual(t, b.Len(), markdown.MaxSize)
}

// A Go vulnerability says whether its binary links the vulnerable code, and says so too
// when that could not be read (it gates as reachable).
func TestReachabilityIsShown(t *testing.T) {
	// Each is among the most severe findings, listed first and again in its section.
	reporttest.AssertReachabilityShown(t, func(w io.Writer, r *report.Result) error { return markdown.Write(w, r, markdown.Options{}) }, 2)
}
