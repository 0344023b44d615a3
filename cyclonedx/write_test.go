package cyclonedx_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/cyclonedx"
	"github.com/imagegate/imagegate/internal/reporttest"
	"github.com/imagegate/imagegate/internal/schematest"
	"github.com/imagegate/imagegate/report"
)

// The SBOM lists every package and every vulnerability (CycloneDX's model has no place
// for Dockerfile, image-configuration or secret findings; like Trivy's CycloneDX output it
// leaves them to the other formats), valid against the CycloneDX 1.6 schema.
func TestEveryKind(t *testing.T) {
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, cyclonedx.Write(&b, res, cyclonedx.Options{Now: reporttest.Now}))
	assert.NoError(t, schematest.Validate(t, schematest.Compile(t, "cyclonedx/bom-1.6.schema.json"), b.Bytes()))

	var bom struct {
		Components      []json.RawMessage `json:"components"`
		Vulnerabilities []struct {
			ID string `json:"id"`
		} `json:"vulnerabilities"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &bom))
	assert.Len(t, bom.Components, len(res.Packages))
	ids := map[string]bool{}
	for _, v := range bom.Vulnerabilities {
		ids[v.ID] = true
	}
	for _, f := range res.Findings {
		assert.Equal(t, f.Kind == report.KindVulnerability, ids[f.ID], "%s %s", f.Kind, f.ID)
	}
	reporttest.Golden(t, "cyclonedx", "cdx.json", b.Bytes())
}
