package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
)

// Several images in one run: the data opened once, one combined exit code, a SARIF run per
// image under its own category, a JSON report per image (files named per image; documents
// one after another on stdout), and with --baseline each image gated against the report
// that names it.
func TestScanSeveralImages(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	demo, err := tarball.ImageFromPath(demoPath(t), nil)
	require.NoError(t, err)
	jwt := imagetest.Layer(t, imagetest.File("usr/src/app/node_modules/jsonwebtoken/package.json", []byte(`{"name":"jsonwebtoken","version":"8.5.1"}`)))
	withJWT, err := mutate.AppendLayers(demo, jwt)
	require.NoError(t, err)
	api, worker := filepath.Join(dir, "api.tar"), filepath.Join(dir, "worker.tar")
	write := func(path string, img v1.Image) {
		t.Helper()
		tag, err := name.NewTag("app:" + strings.TrimSuffix(filepath.Base(path), ".tar"))
		require.NoError(t, err)
		require.NoError(t, tarball.WriteToFile(path, tag, img))
	}
	write(api, demo)
	write(worker, withJWT)
	args := func(more ...string) []string {
		return append([]string{"scan", api, worker, "--db", db, "--db-max-age", "876000h", "--scanners", "vuln"}, more...)
	}

	sarifOut, jsonOut := filepath.Join(dir, "out.sarif"), filepath.Join(dir, "out.json")
	r := runCLI(t, args("-o", "sarif="+sarifOut, "-o", "json="+jsonOut)...)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stdout, "imagegate: 2 images, 2 failing the gate")
	assert.NoFileExists(t, jsonOut, "a per-image format writes a file per image")
	perImage := []string{filepath.Join(dir, "out-api.tar.json"), filepath.Join(dir, "out-worker.tar.json")}
	var results [2]report.Result
	for i, p := range perImage {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &results[i]))
	}
	assert.Equal(t, "api.tar", results[0].Image.Name, "an archive is named by its file")
	assert.Equal(t, "worker.tar", results[1].Image.Name)
	assert.Greater(t, len(results[1].Findings), len(results[0].Findings), "the worker has jsonwebtoken's findings too")

	var log struct {
		Runs []struct {
			AutomationDetails struct {
				ID string `json:"id"`
			} `json:"automationDetails"`
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	b, err := os.ReadFile(sarifOut)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &log))
	require.Len(t, log.Runs, 2, "a run per image")
	assert.NotEqual(t, log.Runs[0].AutomationDetails.ID, log.Runs[1].AutomationDetails.ID, "each under its own category")
	assert.Len(t, log.Runs[0].Results, len(results[0].Findings))
	assert.Len(t, log.Runs[1].Results, len(results[1].Findings))

	// Each image against its own report, named in any order: nothing new, both pass.
	baselines := "--baseline=" + perImage[1] + "," + perImage[0]
	r = runCLI(t, args(baselines)...)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "imagegate: 2 images, all pass the gate")

	// The api gains jsonwebtoken: exactly its findings are new, in the api only.
	write(api, withJWT)
	r = runCLI(t, args(baselines, "-f", "json")...)
	assert.Equal(t, 1, r.code, r.stderr)
	docs := decodeAll(t, r.stdout)
	require.Len(t, docs, 2, "a JSON document per image on stdout")
	require.NotNil(t, docs[0].Verdict.Baseline)
	assert.Positive(t, docs[0].Verdict.Baseline.New)
	for _, f := range docs[0].Findings {
		if f.Baseline == report.BaselineNew {
			assert.Equal(t, "jsonwebtoken", f.Package.Name)
		}
	}
	assert.Zero(t, docs[1].Verdict.Baseline.New, "the worker's report knows all of its findings")
	assert.True(t, docs[1].Verdict.Pass)

	// An image no baseline names: all its findings are new, and a warning says why.
	r = runCLI(t, args("--baseline", perImage[1])...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no baseline report names the image api.tar")

	// What belongs to one image is refused for several, and an image named twice.
	r = runCLI(t, args("--dockerfile", filepath.Join(imagetest.RepoRoot(t), "testdata", "e2e", "app", "Dockerfile"))...)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "a Dockerfile and a base image belong to one image")
	r = runCLI(t, "scan", api, api, "--db", db)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "named twice")
}

func decodeAll(t *testing.T, s string) []report.Result {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var out []report.Result
	for {
		var r report.Result
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, r)
	}
}
