package fleet_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/fleet"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/attach"
	"github.com/imagegate/imagegate/scanner/failure"
)

// attachSBOM makes an image's SBOM and attaches it in the registry.
func attachSBOM(t *testing.T, ref string) {
	res, err := scanner.Scan(context.Background(), scanner.Options{Image: ref, Scanners: []string{scanner.ScannerNone}})
	require.NoError(t, err)
	var doc bytes.Buffer
	require.NoError(t, output.Render(&doc, "cyclonedx", res, output.Options{}))
	_, err = attach.Push(context.Background(), res.Image.Repository+"@"+res.Image.Digest, doc.Bytes(), time.Now(), "test")
	require.NoError(t, err)
}

// olderDB is the test database as it was before the lodash advisories were published:
// the npm export without the records that name lodash.
func olderDB(t *testing.T) string {
	root := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	dir := t.TempDir()
	for _, eco := range []string{"Alpine", "Debian"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, eco), 0o755))
		b, err := os.ReadFile(filepath.Join(root, eco, "all.zip"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, eco, "all.zip"), b, 0o644))
	}
	zr, err := zip.OpenReader(filepath.Join(root, "npm", "all.zip"))
	require.NoError(t, err)
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	dropped := 0
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		if strings.Contains(string(b), `"lodash"`) {
			dropped++
			continue
		}
		w, err := zw.Create(f.Name)
		require.NoError(t, err)
		_, err = w.Write(b)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.Positive(t, dropped)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "npm"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "npm", "all.zip"), buf.Bytes(), 0o644))
	return dir
}

// Rescans read the attached SBOMs (no layer is pulled) and report what is new since the
// last rescan: nothing on the second night, the lodash advisories once they are in the
// data.
func TestRescan(t *testing.T) {
	host := fleetRegistry(t)
	ctx := context.Background()
	attachSBOM(t, host+"/team-a/app0:v1.0")
	attachSBOM(t, host+"/base/alpine:3.20")
	state := filepath.Join(t.TempDir(), "state.json")
	rescan := func(db string, tags ...string) *report.Fleet {
		o := scanOptions(t)
		o.DB = db
		r := fleet.Rescan{Targets: []string{host + "/team-a/app0", host + "/base/alpine"}, Filter: fleet.Filter{Tags: tags},
			State: state, Options: fleet.Options{Scan: o, Dir: t.TempDir()}}
		f, err := r.Do(ctx)
		require.NoError(t, err)
		return f
	}
	byName := func(f *report.Fleet) map[string]report.FleetImage {
		m := map[string]report.FleetImage{}
		for _, im := range f.Images {
			m[strings.TrimPrefix(im.Names[0], host+"/")] = im
		}
		return m
	}

	old := olderDB(t)
	first := byName(rescan(old, "v1.0", "3.20"))
	require.Len(t, first, 2)
	app := first["team-a/app0:v1.0"]
	assert.Positive(t, app.New, "the first rescan reports every finding as new")
	assert.Equal(t, sum(app.Counts), app.New)
	for _, n := range app.NewFindings {
		assert.NotContains(t, n, "lodash")
	}

	second := rescan(old, "v1.0", "3.20")
	for _, im := range second.Images {
		assert.Zero(t, im.New, im.Reference)
		assert.Equal(t, report.FleetPass, im.Status, "known findings were reported last night")
	}
	assert.Equal(t, failure.ExitPass, fleet.ExitCode(second))

	full := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	third := rescan(full, "v1.0", "3.20")
	got := byName(third)
	app = got["team-a/app0:v1.0"]
	require.Positive(t, app.New)
	for _, n := range app.NewFindings {
		assert.Contains(t, n, "lodash 4.17.20")
	}
	assert.Equal(t, report.FleetFail, app.Status)
	assert.Zero(t, got["base/alpine:3.20"].New)
	assert.Equal(t, failure.ExitFindings, fleet.ExitCode(third))

	// An image without an SBOM was not re-checked: the rescan fails closed.
	fourth := byName(rescan(full, "v1.1"))
	assert.Equal(t, report.FleetError, fourth["team-a/app0:v1.1"].Status)
	assert.Contains(t, fourth["team-a/app0:v1.1"].Error, "no SBOM attached")
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// A rescan cut short (--timeout, SIGTERM) writes no summary and leaves the state as the
// last whole run wrote it.
func TestRescanCutShortWritesNothing(t *testing.T) {
	host := fleetRegistry(t)
	attachSBOM(t, host+"/team-a/app0:v1.0")
	state := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(state, []byte("{\"version\": 1, \"images\": {}}\n"), 0o644))
	dir := t.TempDir()
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("terminated"))
	r := fleet.Rescan{Targets: []string{host + "/team-a/app0"}, Filter: fleet.Filter{Tags: []string{"v1.0"}},
		State: state, Options: fleet.Options{Scan: scanOptions(t), Dir: dir}}
	_, err := r.Do(ctx)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err), err.Error())
	b, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Equal(t, "{\"version\": 1, \"images\": {}}\n", string(b))
	assert.NoFileExists(t, filepath.Join(dir, fleet.SummaryJSONL))
	assert.NoFileExists(t, filepath.Join(dir, fleet.SummaryMarkdown))
}
