package json_test

import (
	"bytes"
	stdjson "encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/reporttest"
	"github.com/imagegate/imagegate/internal/schematest"
	jsonreport "github.com/imagegate/imagegate/reporters/json"
)

// The JSON report holds every finding of every kind, valid against its published schema.
func TestEveryKind(t *testing.T) {
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, jsonreport.Write(&b, res))

	require.NoError(t, schematest.Validate(t, schematest.CompileBytes(t, "schema.json", jsonreport.Schema), b.Bytes()))

	var got struct {
		Findings []struct {
			Kind string `json:"kind"`
			ID   string `json:"id"`
		} `json:"findings"`
	}
	require.NoError(t, stdjson.Unmarshal(b.Bytes(), &got))
	require.Len(t, got.Findings, len(res.Findings))
	kinds := map[string]int{}
	for i, f := range got.Findings {
		assert.Equal(t, res.Findings[i].ID, f.ID)
		kinds[f.Kind]++
	}
	for k, want := range reporttest.Kinds(res) {
		if want && !bytes.Contains([]byte(k), []byte("-")) {
			assert.Positive(t, kinds[k], "no %s finding in the JSON report", k)
		}
	}
	assert.NotContains(t, b.String(), reporttest.AWSSecret)
	reporttest.Golden(t, "reporters/json", "json", b.Bytes())
}
