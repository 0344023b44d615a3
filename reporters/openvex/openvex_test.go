package openvex_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/reporttest"
	"github.com/imagegate/imagegate/internal/schematest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/openvex"
)

// A statement for every not-reachable finding of the every-kind result (the demo's Go
// health check: its standard-library findings), valid against OpenVEX's own schema.
func TestEveryKind(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600") // the document's timestamp, for the golden
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, openvex.Write(&b, res))
	require.NoError(t, schematest.Validate(t, schematest.Compile(t, "openvex_json_schema.json"), b.Bytes()))
	reporttest.Golden(t, "reporters/openvex", "json", b.Bytes())

	var doc struct {
		Author     string
		Statements []struct {
			Vulnerability struct {
				Name    string
				Aliases []string
			}
			Products []struct {
				ID            string `json:"@id"`
				Subcomponents []struct {
					ID string `json:"@id"`
				}
			}
			Status          string
			Justification   string
			ImpactStatement string `json:"impact_statement"`
		}
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	want := 0
	for _, f := range res.Findings {
		if f.Reachability != nil && f.Reachability.State == report.NotReachable {
			want++
		}
	}
	require.Positive(t, want)
	require.Len(t, doc.Statements, want)
	assert.Equal(t, openvex.Author, doc.Author)
	for _, st := range doc.Statements {
		assert.Equal(t, "not_affected", st.Status)
		assert.Contains(t, []string{report.CodeNotPresent, report.CodeNotInExecutePath}, st.Justification)
		require.Len(t, st.Products, 1)
		assert.Equal(t, res.Image.PURL, st.Products[0].ID, "the image, by its digest")
		assert.Regexp(t, `^pkg:oci/.+@sha256%3A[0-9a-f]{64}$`, st.Products[0].ID)
		require.Len(t, st.Products[0].Subcomponents, 1)
		assert.Equal(t, "pkg:golang/stdlib@v1.22.0", st.Products[0].Subcomponents[0].ID)
		assert.Contains(t, st.ImpactStatement, "usr/local/bin/healthcheck", "names the binary read")
	}
}

// A scan that set nothing aside writes a document without statements (OpenVEX's schema
// wants at least one: a tool that reads it finds nothing to apply).
func TestNothingNotReachable(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, openvex.Write(&b, &report.Result{Findings: []report.Finding{{Kind: report.KindVulnerability, ID: "CVE-1", Reachability: &report.Reachability{State: report.Reachable}}}}))
	assert.Contains(t, b.String(), `"statements": []`)
}
