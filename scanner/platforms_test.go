package scanner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/image"
)

// --platform all: every platform of a multi-platform index (amd64 and arm64, sharing
// their base layer, and an attestation manifest, which is skipped) in one run, a result
// per platform that says which, a SARIF run per platform under its own category; a
// single-platform image is scanned as it is; a single scan refuses "all".
func TestEveryPlatformOfAnIndex(t *testing.T) {
	reg := imagetest.NewRegistry(t, "", "")
	base := imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\n")))
	pkg := func(name, version string) v1.Layer {
		return imagetest.Layer(t, imagetest.File("app/node_modules/"+name+"/package.json", []byte(`{"name":"`+name+`","version":"`+version+`"}`)))
	}
	amd := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: base}, imagetest.Step{Layer: pkg("lodash", "4.17.20")})
	arm := imagetest.Image(t, "linux/arm64", imagetest.Step{Layer: base}, imagetest.Step{Layer: pkg("minimist", "1.2.5")})
	idx := imagetest.Index(t, amd, arm)
	att := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("sbom.json", []byte("{}")))})
	idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}})
	ref := reg.Push(t, "multi:1", nil, idx)
	single := reg.Push(t, "single:1", amd, nil)

	req := scanner.Request{Checks: []string{scanner.ScannerVuln}, Registry: scanner.Registry{Platform: image.AllPlatforms}}
	req.Data.DB = imagetest.RepoRoot(t) + "/testdata/osv"
	req.Data.MaxAge = 1 << 62
	rs, labels, err := scanner.New().ScanImages(context.Background(), req, []string{ref})
	require.NoError(t, err)
	require.Len(t, rs, 2, "amd64 and arm64; the attestation manifest is not an image to scan")
	assert.Equal(t, []string{ref + "#linux-amd64", ref + "#linux-arm64"}, labels)
	assert.Equal(t, "linux/amd64", rs[0].Image.Platform)
	assert.Equal(t, "linux/arm64", rs[1].Image.Platform)
	names := func(r *report.Result) map[string]bool {
		out := map[string]bool{}
		for _, f := range r.Findings {
			out[f.Package.Name] = true
		}
		return out
	}
	assert.Equal(t, map[string]bool{"lodash": true}, names(rs[0]))
	assert.Equal(t, map[string]bool{"minimist": true}, names(rs[1]))
	assert.Equal(t, rs[0].Image.IndexDigest, rs[1].Image.IndexDigest, "both from the one index")

	var b bytes.Buffer
	require.NoError(t, output.RenderAll(&b, "sarif", rs, output.Options{}))
	var log struct {
		Runs []struct {
			AutomationDetails struct{ ID string } `json:"automationDetails"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &log))
	require.Len(t, log.Runs, 2)
	assert.Regexp(t, `/linux-amd64/$`, log.Runs[0].AutomationDetails.ID)
	assert.Regexp(t, `/linux-arm64/$`, log.Runs[1].AutomationDetails.ID)

	rs, labels, err = scanner.New().ScanImages(context.Background(), req, []string{single})
	require.NoError(t, err)
	assert.Len(t, rs, 1, "a single-platform image is scanned as it is")
	assert.Equal(t, []string{single}, labels)

	_, err = scanner.New().Scan(context.Background(), scanner.Request{Image: ref, Registry: scanner.Registry{Platform: image.AllPlatforms}})
	assert.ErrorContains(t, err, "platform all is for imagegate scan")
}
