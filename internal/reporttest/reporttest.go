// Package reporttest makes the scan result every reporter is tested on: a real scan of an
// image built for it (the demo image and one more layer) with its Dockerfile, policy file
// and VEX document, so that the result holds every finding kind (vulnerabilities,
// Dockerfile, image and secret findings), suppressed ones (by ignore entry and by VEX),
// findings below the threshold, warnings and a verdict.
package reporttest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/demo"
	"github.com/imagegate/imagegate/internal/golden"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/policy"
)

// ImageName is the name the result gives the image (the archive is written to a
// temporary folder; reports name it by this repository-relative path).
const ImageName = "testdata/every-kind.tar"

// AWSSecret is the secret access key the extra layer leaves in a file: AWS's example
// shape as osv-scalibr's tests use it, not a live key. No report may show it.
const AWSSecret = "32r923jr023rk320rk2a3rkB34tj340r32Ckt433"

// Now is the date the result is decided on (ignore entries expire against it).
var Now = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// EveryKind scans the every-kind image and returns the result, with paths relative to the
// repository root. It changes the test's working folder to the repository root.
func EveryKind(t testing.TB) *report.Result {
	t.Helper()
	root := imagetest.RepoRoot(t)
	t.Chdir(root)
	if os.Getenv("XDG_CACHE_HOME") == "" {
		t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the zip index stays out of the user's cache
	}
	base, err := tarball.ImageFromPath(filepath.Join(root, demo.ArchivePath), nil)
	require.NoError(t, err)
	// One more layer: a credentials file the app kept (a secret in a layer), a setuid
	// helper (an image check), and a password in the environment (a secret in the config).
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: imagetest.Layer(t, imagetest.Dir("usr/src/app/config"),
			imagetest.File("usr/src/app/config/.env", []byte("AWS_ACCESS_KEY_ID=AKIA1984R439T439HTH4\nAWS_SECRET_ACCESS_KEY="+AWSSecret+"\n")),
			imagetest.Entry{Path: "usr/local/bin/netcheck", Body: []byte("#!/bin/sh\nexec ping -c1 \"$1\"\n"), Mode: 0o4755}),
		History: v1.History{CreatedBy: "COPY config/ /usr/src/app/config/ # buildkit", Created: v1.Time{Time: Now}},
	})
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.Config.Env = append(cf.Config.Env, "DB_PASSWORD=Tr0ub4dor-and-3")
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	archive := imagetest.DockerArchive(t, img, "imagegate/every-kind:1")

	cfg, err := config.Load(filepath.Join("testdata", "demo", "imagegate.yaml"))
	require.NoError(t, err)
	doc, err := policy.LoadVEX(filepath.Join("testdata", "demo", "demo.openvex.json"))
	require.NoError(t, err)
	res, err := scanner.New().Scan(context.Background(), scanner.Request{
		Image:      archive,
		Data:       scanner.Data{DB: demo.DBPath, MaxAge: 100 * 365 * 24 * time.Hour},
		Dockerfile: scanner.Dockerfile{Path: filepath.Join("testdata", "demo", "Dockerfile"), Context: filepath.Join("testdata", "demo")},
		Config:     cfg,
		Policy: &policy.Policy{
			Threshold: report.Medium, FailOnIssues: true, ReportAll: true,
			VEX: []*policy.VEX{doc}, Now: Now,
		},
	})
	require.NoError(t, err)
	res.Image.Name = ImageName
	for i := range res.Data {
		// The data source is recorded as an absolute path.
		r, err := filepath.Rel(root, res.Data[i].Source)
		require.NoError(t, err)
		res.Data[i].Source = filepath.ToSlash(r)
	}
	var kept []string
	for _, w := range res.Warnings {
		if !strings.Contains(w, "days old") {
			kept = append(kept, w)
		}
	}
	res.Warnings = kept
	return res
}

// Kinds reports which finding kinds, suppressions and markings a result holds:
// "vulnerability", "dockerfile", "image", "secret", "suppressed-ignore", "suppressed-vex",
// "below-threshold".
func Kinds(res *report.Result) map[string]bool {
	kinds := map[string]bool{}
	for _, f := range res.Findings {
		kinds[string(f.Kind)] = true
		if f.Suppressed != nil {
			kinds["suppressed-"+f.Suppressed.Kind] = true
		}
		if f.BelowThreshold {
			kinds["below-threshold"] = true
		}
	}
	return kinds
}

// Golden compares a reporter's rendering of the every-kind result with the file
// testdata/every-kind.EXT of the reporter's own package (pkg, a slash path from the
// repository root): `go test ./reporters/FORMAT -update` rewrites that package's file only.
func Golden(t testing.TB, pkg, ext string, got []byte) {
	t.Helper()
	golden.Check(t, pkg+"/testdata/every-kind."+ext, got)
}

// AssertShowsEveryKind checks that a human-readable report shows each finding kind under
// its own heading and names every finding (by id).
func AssertShowsEveryKind(t testing.TB, res *report.Result, out string) {
	t.Helper()
	for _, k := range report.Kinds {
		assert.Contains(t, out, k.Title(), "no %s heading", k)
	}
	for _, f := range res.Findings {
		assert.Contains(t, out, f.ID, "%s finding %s is not shown", f.Kind, f.ID)
	}
}

// AssertReachabilityShown renders EveryKind with its first two vulnerabilities that gate
// marked reachable and of unknown reachability, and checks that the output marks each as
// often as it lists the finding (times).
func AssertReachabilityShown(t *testing.T, render func(io.Writer, *report.Result) error, times int) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, render(&b, everyKindReachability(t)))
	assert.Equal(t, times, strings.Count(b.String(), "(reachable)"))
	assert.Equal(t, times, strings.Count(b.String(), "(reachability unknown)"))
}

func everyKindReachability(t testing.TB) *report.Result {
	t.Helper()
	res := EveryKind(t)
	marks := []string{report.Reachable, report.ReachUnknown}
	for i, f := range res.Findings {
		if len(marks) > 0 && f.Kind == report.KindVulnerability && f.Suppressed == nil && !f.BelowThreshold {
			res.Findings[i].Reachability = &report.Reachability{State: marks[0]}
			marks = marks[1:]
		}
	}
	if len(marks) > 0 {
		t.Fatal("EveryKind has fewer than two vulnerabilities that gate")
	}
	return res
}
