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

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/fleet"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/attach"
	"github.com/imagegate/imagegate/trust"
)

// attachSBOM makes an image's SBOM and attaches it in the registry.
func attachSBOM(t *testing.T, ref string) {
	res, err := scanner.New().Scan(context.Background(), scanner.Request{Image: ref, Checks: []string{scanner.ScannerNone}})
	require.NoError(t, err)
	var doc bytes.Buffer
	require.NoError(t, output.Render(&doc, "cyclonedx", res, output.Options{}))
	_, err = attach.Push(context.Background(), res.Image.Repository+"@"+res.Image.Digest, doc.Bytes(), time.Now(), "test")
	require.NoError(t, err)
}

// attachSigned makes an image's SBOM and attaches it as a signed attestation, as
// 'imagegate sbom --attach --sign' does; it returns the SBOM.
func attachSigned(t *testing.T, ref string, s imagetest.Signer) []byte {
	res, err := scanner.New().Scan(context.Background(), scanner.Request{Image: ref, Checks: []string{scanner.ScannerNone}})
	require.NoError(t, err)
	var doc bytes.Buffer
	require.NoError(t, output.Render(&doc, "cyclonedx", res, output.Options{}))
	b, err := trust.Attest(context.Background(), s.Key, trust.Subject{Name: res.Image.Repository, Digest: res.Image.Digest}, trust.CycloneDXPredicate, doc.Bytes())
	require.NoError(t, err)
	_, err = attach.PushAttestation(context.Background(), res.Image.Repository+"@"+res.Image.Digest, b, trust.CycloneDXPredicate, time.Now(), scanner.New().ImageOptions(scanOptions(t))...)
	require.NoError(t, err)
	return doc.Bytes()
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
	ci := imagetest.NewSigner(t)
	attachSigned(t, host+"/team-a/app0:v1.0", ci)
	attachSigned(t, host+"/base/alpine:3.20", ci)
	state := filepath.Join(t.TempDir(), "state.json")
	rescan := func(db string, tags ...string) *report.Fleet {
		o := scanOptions(t)
		o.Data.DB = db
		r := fleet.Rescan{Targets: []string{host + "/team-a/app0", host + "/base/alpine"}, Filter: fleet.Filter{Tags: tags},
			State: state, Options: fleet.Options{Request: o, Dir: t.TempDir()}, Verifier: ci.Verifier}
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
	assert.Equal(t, failure.ExitPass, second.Outcome().ExitCode())

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
	assert.Equal(t, failure.ExitFindings, third.Outcome().ExitCode())

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
	ci := imagetest.NewSigner(t)
	attachSigned(t, host+"/team-a/app0:v1.0", ci)
	state := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(state, []byte("{\"version\": 1, \"images\": {}}\n"), 0o644))
	dir := t.TempDir()
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("terminated"))
	r := fleet.Rescan{Targets: []string{host + "/team-a/app0"}, Filter: fleet.Filter{Tags: []string{"v1.0"}},
		State: state, Options: fleet.Options{Request: scanOptions(t), Dir: dir}, Verifier: ci.Verifier}
	_, err := r.Do(ctx)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err), err.Error())
	b, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Equal(t, "{\"version\": 1, \"images\": {}}\n", string(b))
	assert.NoFileExists(t, filepath.Join(dir, fleet.SummaryJSONL))
	assert.NoFileExists(t, filepath.Join(dir, fleet.SummaryMarkdown))
}

// Anyone who can push can attach an SBOM: rescan believes only the attestations signed by
// the configured key, about the image. An empty SBOM dated 2099, unsigned or signed by
// another key, changes nothing; an image with nothing verifiable was not checked (exit 3)
// and its state is left as it was.
func TestRescanBelievesOnlySignedSBOMs(t *testing.T) {
	host := fleetRegistry(t)
	ctx := context.Background()
	ci, attacker := imagetest.NewSigner(t), imagetest.NewSigner(t)
	attachSigned(t, host+"/team-a/app0:v1.0", ci)
	state := filepath.Join(t.TempDir(), "state.json")
	full := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	rescan := func(tags ...string) *report.Fleet {
		o := scanOptions(t)
		o.Data.DB = full
		r := fleet.Rescan{Targets: []string{host + "/team-a/app0"}, Filter: fleet.Filter{Tags: tags},
			State: state, Options: fleet.Options{Request: o, Dir: t.TempDir()}, Verifier: ci.Verifier}
		f, err := r.Do(ctx)
		require.NoError(t, err)
		return f
	}
	honest := rescan("v1.0")
	require.Len(t, honest.Images, 1)
	require.Equal(t, report.FleetFail, honest.Images[0].Status)
	counts := honest.Images[0].Counts

	empty := []byte(`{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}`)
	app := honest.Images[0].Reference
	_, err := attach.Push(ctx, app, empty, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), "forger", scanner.New().ImageOptions(scanOptions(t))...)
	require.NoError(t, err)
	forged, err := trust.Attest(context.Background(), attacker.Key, trust.Subject{Name: "x", Digest: strings.SplitN(app, "@", 2)[1]}, trust.CycloneDXPredicate, empty)
	require.NoError(t, err)
	_, err = attach.PushAttestation(ctx, app, forged, trust.CycloneDXPredicate, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), scanner.New().ImageOptions(scanOptions(t))...)
	require.NoError(t, err)
	require.NoError(t, os.Remove(state))
	again := rescan("v1.0")
	assert.Equal(t, report.FleetFail, again.Images[0].Status, "the signed SBOM is still the one believed")
	assert.Equal(t, counts, again.Images[0].Counts)

	// v1.1: an unsigned SBOM only, then the signed bundle of v1.0 copied onto it.
	before, err := os.ReadFile(state)
	require.NoError(t, err)
	res, err := scanner.New().Scan(ctx, scanner.Request{Image: host + "/team-a/app0:v1.1", Checks: []string{scanner.ScannerNone}})
	require.NoError(t, err)
	v11 := res.Image.Repository + "@" + res.Image.Digest
	_, err = attach.Push(ctx, v11, empty, time.Now(), "forger", scanner.New().ImageOptions(scanOptions(t))...)
	require.NoError(t, err)
	only := rescan("v1.1")
	assert.Equal(t, report.FleetError, only.Images[0].Status)
	assert.Contains(t, only.Images[0].Error, "unsigned SBOMs are attached and no signed one")
	assert.Equal(t, failure.ExitIncomplete, only.Outcome().ExitCode())
	after, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.JSONEq(t, string(before), string(after), "an image not checked leaves the state as it was")

	copied, err := attach.FindVerified(ctx, app, trust.CycloneDXPredicate, ci.Verifier, scanner.New().ImageOptions(scanOptions(t))...)
	require.NoError(t, err)
	require.NotEmpty(t, copied.SBOM, "the verified predicate: the SBOM")
	bundle := signedBundleOf(t, app, ci)
	_, err = attach.PushAttestation(ctx, v11, bundle, trust.CycloneDXPredicate, time.Now(), scanner.New().ImageOptions(scanOptions(t))...)
	require.NoError(t, err)
	moved := rescan("v1.1")
	assert.Equal(t, report.FleetError, moved.Images[0].Status)
	assert.Contains(t, moved.Images[0].Error, "none verifies")

	// Without a key or identity, a registry's SBOMs are not read at all.
	r := fleet.Rescan{Targets: []string{host + "/team-a/app0"}, State: state, Options: fleet.Options{Request: scanOptions(t), Dir: t.TempDir()}}
	_, err = r.Do(ctx)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
}

// signedBundleOf is the bundle attached to ref that s verifies, as a registry serves it.
func signedBundleOf(t *testing.T, ref string, s imagetest.Signer) []byte {
	d, err := name.NewDigest(ref, name.Insecure)
	require.NoError(t, err)
	idx, err := remote.Referrers(d)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	for _, m := range im.Manifests {
		if m.ArtifactType != attach.BundleType {
			continue
		}
		img, err := remote.Image(d.Context().Digest(m.Digest.String()))
		require.NoError(t, err)
		ls, err := img.Layers()
		require.NoError(t, err)
		rc, err := ls[0].Compressed()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		if _, err := s.Verifier.VerifyAttestation(b, d.DigestStr(), trust.CycloneDXPredicate); err == nil {
			return b
		}
	}
	t.Fatal("no signed bundle")
	return nil
}
