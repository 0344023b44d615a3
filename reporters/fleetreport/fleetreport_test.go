package fleetreport_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/fleetreport"
)

// Text from the images and the registry (a base name comes from an image's annotation, an
// error from a registry's answer) shows as written in the Markdown summary and the table:
// it adds no link, HTML, heading or table cell, and no terminal escape.
func TestSummaryTextFromImagesStaysText(t *testing.T) {
	hostile := "x](https://evil.example) <!-- hide --> | cell `code` \x1b[31mred\n## heading"
	f := &report.Fleet{
		Runs: []report.FleetRun{{Kind: "scan", Shard: "1/1"}},
		Images: []report.FleetImage{
			{Reference: "reg/app@sha256:" + strings.Repeat("a", 64), Digest: "sha256:" + strings.Repeat("a", 64), Status: report.FleetPass,
				Base: &report.FleetBase{Name: hostile, Source: "annotation", Rebuild: true}},
			{Reference: "reg/other@sha256:" + strings.Repeat("b", 64), Status: report.FleetError, Error: hostile},
		},
		Problems: []report.FleetProblem{{Subject: "reg/locked", Error: hostile}},
	}
	var md bytes.Buffer
	require.NoError(t, fleetreport.WriteMarkdown(&md, f))
	for _, bad := range []string{"x](", "<!--", "\x1b", "\n## heading", " | cell", " `code`", "``"} {
		assert.NotContains(t, md.String(), bad)
	}
	assert.Contains(t, md.String(), `x\](https://evil.example) &lt;!-- hide --&gt; \| cell \`+"`code\\`")

	var table bytes.Buffer
	require.NoError(t, fleetreport.WriteTable(&table, f))
	assert.NotContains(t, table.String(), "\x1b")
	assert.NotContains(t, table.String(), "\n## heading")
}
