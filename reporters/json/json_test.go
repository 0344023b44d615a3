package json_test

import (
	"bytes"
	stdjson "encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/reporttest"
	jsonreport "github.com/imagegate/imagegate/reporters/json"
)

// The JSON report holds every finding of every kind, valid against its published schema.
func TestEveryKind(t *testing.T) {
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, jsonreport.Write(&b, res))

	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(jsonreport.Schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource("schema.json", schemaDoc))
	schema, err := c.Compile("schema.json")
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
	require.NoError(t, err)
	require.NoError(t, schema.Validate(doc))

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
