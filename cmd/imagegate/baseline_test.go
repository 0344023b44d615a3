package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
)

// --baseline gates on what is new. The demo image rebuilt with the same content (every
// layer's digest changed) against its own earlier report: nothing new, the gate passes on
// the backlog. One more vulnerable package: exactly its findings are new, and they fail
// the gate. Every format says which are new; the baseline's findings that are gone are
// counted as fixed.
func TestBaselineGatesOnWhatIsNew(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	args := func(image string, more ...string) []string {
		return append([]string{"scan", image, "--db", db, "--db-max-age", "876000h"}, more...)
	}
	old := filepath.Join(dir, "old.json")
	r := runCLI(t, args(demoPath(t), "-o", "json="+old)...)
	require.Equal(t, 1, r.code, "the demo's backlog fails the gate: %s", r.stderr)

	demoImg, err := tarball.ImageFromPath(demoPath(t), nil)
	require.NoError(t, err)
	rebuilt, err := mutate.Time(demoImg, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) // new layer digests, same files
	require.NoError(t, err)
	oldLayers, _ := demoImg.Layers()
	newLayers, _ := rebuilt.Layers()
	d0, _ := oldLayers[0].Digest()
	d1, _ := newLayers[0].Digest()
	require.NotEqual(t, d0, d1, "the rebuild changed the layer digests")
	same := imagetest.DockerArchive(t, rebuilt, "demo:rebuilt")

	r = runCLI(t, args(same, "--baseline", old, "-f", "json")...)
	assert.Equal(t, 0, r.code, "nothing new: %s", r.stderr)
	var res report.Result
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.NotNil(t, res.Verdict.Baseline)
	assert.Zero(t, res.Verdict.Baseline.New)
	assert.Positive(t, res.Verdict.Baseline.Unchanged)
	assert.Zero(t, res.Verdict.Baseline.Fixed)
	assert.Zero(t, res.Verdict.AtOrAboveThreshold)

	jwt := imagetest.Layer(t, imagetest.File("usr/src/app/node_modules/jsonwebtoken/package.json", []byte(`{"name":"jsonwebtoken","version":"8.5.1"}`)))
	more, err := mutate.AppendLayers(rebuilt, jwt)
	require.NoError(t, err)
	r = runCLI(t, args(imagetest.DockerArchive(t, more, "demo:more"), "--baseline", old, "-f", "json")...)
	assert.Equal(t, 1, r.code, "jsonwebtoken's advisories are new: %s", r.stderr)
	res = report.Result{}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	newOnes := 0
	for _, f := range res.Findings {
		if f.Baseline == report.BaselineNew {
			newOnes++
			require.NotNil(t, f.Package)
			assert.Equal(t, "jsonwebtoken", f.Package.Name, "only jsonwebtoken is new: %s", f.ID)
		}
	}
	assert.Positive(t, newOnes)
	assert.Equal(t, newOnes, res.Verdict.Baseline.New)
	assert.Equal(t, newOnes, res.Verdict.AtOrAboveThreshold, "only the new findings gate")

	// The table and the SARIF say it too.
	r = runCLI(t, args(imagetest.DockerArchive(t, more, "demo:more"), "--baseline", old)...)
	assert.Contains(t, r.stdout, "(new)")
	assert.Contains(t, r.stdout, "(in the baseline)")
	assert.Contains(t, r.stdout, "against the baseline")
	sarifOut := filepath.Join(dir, "more.sarif")
	runCLI(t, args(imagetest.DockerArchive(t, more, "demo:more"), "--baseline", old, "-o", "sarif="+sarifOut)...)
	b, err := os.ReadFile(sarifOut)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"baselineState": "new"`)
	assert.Contains(t, string(b), `"baselineState": "unchanged"`)

	// A file that is not an imagegate JSON report is refused, not read as "nothing known".
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"runs":[]}`), 0o644))
	r = runCLI(t, args(same, "--baseline", bad)...)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "not an imagegate JSON report")
}
