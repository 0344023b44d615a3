package sarif_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/reporttest"
	"github.com/imagegate/imagegate/internal/schematest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/sarif"
)

// Every finding is a result whose rule is tagged with its kind, in a log valid against
// SARIF 2.1.0 (the OASIS schema and SchemaStore's draft-07 copy GitHub uses);
// .ci/run also runs Microsoft's multitool with GitHub's ingestion rules over the golden.
func TestEveryKind(t *testing.T) {
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, sarif.Write(&b, res, sarif.Options{BaseDir: imagetest.RepoRoot(t)}))
	assert.NoError(t, schematest.Validate(t, schematest.Compile(t, "sarif-2.1.0.json"), b.Bytes()))
	assert.NoError(t, schematest.Validate(t, schematest.Compile(t, "sarif-2.1.0-schemastore-draft07.json"), b.Bytes()))

	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID         string `json:"id"`
						Properties struct {
							Tags []string `json:"tags"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleIndex int `json:"ruleIndex"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &log))
	run := log.Runs[0]
	require.Len(t, run.Results, len(res.Findings))
	kinds := map[string]int{}
	for _, r := range run.Results {
		for _, tag := range run.Tool.Driver.Rules[r.RuleIndex].Properties.Tags {
			kinds[tag]++
		}
	}
	byKind := report.ByKind(res.Findings)
	for _, k := range report.Kinds {
		assert.Equal(t, len(byKind[k]), kinds[string(k)], "results of rules tagged %s", k)
	}
	assert.NotContains(t, b.String(), reporttest.AWSSecret)
	reporttest.Golden(t, "reporters/sarif", "sarif", b.Bytes())
}

func TestContent(t *testing.T) {
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, sarif.Write(&b, res, sarif.Options{}))
	s := b.String()
	assert.Contains(t, s, `"id": "imagegate/image/every-kind.tar/"`)
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

// SARIF keeps at most MaxResults results (GitHub's limit per run).
func TestMaxResults(t *testing.T) {
	res := reporttest.EveryKind(t)
	for range 5 {
		res.Findings = append(res.Findings, res.Findings...)
	}
	var b bytes.Buffer
	require.NoError(t, sarif.Write(&b, res, sarif.Options{}))
	assert.Equal(t, sarif.MaxResults, strings.Count(b.String(), `"ruleId":`))
}

// The category keeps each image's alert history apart and the same across tags and
// digests of that image.
func TestDefaultCategory(t *testing.T) {
	for want, img := range map[string]report.ImageInfo{
		"imagegate/image/ghcr.io/org/app":    {Transport: "registry", Name: "ghcr.io/org/app:1.2@sha256:00", Repository: "ghcr.io/org/app"},
		"imagegate/image/localhost-5000/app": {Transport: "registry", Name: "localhost:5000/app:3", Repository: "localhost:5000/app"},
		"imagegate/image/app":                {Transport: "docker-daemon", Name: "team/app:ci", Repository: "team/app"},
		"imagegate/image/image.tar":          {Transport: "docker-archive", Name: "build/image.tar@app:1"},
		"imagegate/image/layout":             {Transport: "oci-dir", Name: "out/layout"},
	} {
		assert.Equal(t, want, sarif.DefaultCategory(&report.Result{Image: &img}))
	}
	assert.Equal(t, "imagegate/dockerfile/build/Dockerfile", sarif.DefaultCategory(&report.Result{Dockerfile: "build/Dockerfile"}))
}
