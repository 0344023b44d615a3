package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
)

// The OpenVEX document of a scan, fed back with --vex and reachability off, gives the
// same gate: the same findings set aside (now by the VEX statements), the same count at or
// above the threshold, the same exit code.
func TestOpenVEXOutGivesTheSameGate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	doc := filepath.Join(dir, "reach.openvex.json")
	base := []string{"scan", demoPath(t), "--db", db, "--db-max-age", "876000h", "-f", "json"}

	r := runCLI(t, append(base, "-o", "openvex="+doc)...)
	require.Equal(t, 1, r.code, r.stderr)
	var gate report.Result
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &gate))
	assert.Equal(t, 68, gate.Verdict.NotReachable, "the demo's standard-library findings")

	r = runCLI(t, append(base, "--reachability", "off", "--vex", doc)...)
	require.Equal(t, 1, r.code, r.stderr)
	var viaVEX report.Result
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &viaVEX))
	assert.Zero(t, viaVEX.Verdict.NotReachable)
	assert.Equal(t, gate.Verdict.AtOrAboveThreshold, viaVEX.Verdict.AtOrAboveThreshold)
	assert.Equal(t, gate.Verdict.Suppressed, viaVEX.Verdict.Suppressed)
	for i, f := range viaVEX.Findings {
		g := gate.Findings[i]
		require.Equal(t, g.ID, f.ID)
		if g.Suppressed != nil && g.Suppressed.Kind == report.NotReachable {
			require.NotNil(t, f.Suppressed, f.ID)
			assert.Equal(t, "vex", f.Suppressed.Kind, f.ID)
		}
	}

	r = runCLI(t, append(base, "--reachability", "off")...)
	var off report.Result
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &off))
	assert.Equal(t, gate.Verdict.AtOrAboveThreshold+68, off.Verdict.AtOrAboveThreshold, "off: they gate as before")
}
