package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/fleet"
	"github.com/imagegate/imagegate/internal/fleettest"
	"github.com/imagegate/imagegate/internal/imagebuild"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/schematest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
)

func TestMain(m *testing.M) {
	cache, _ := os.MkdirTemp("", "imagegate-fleet-cache")
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

// lockedRepo is a repository whose tags the registry refuses to list (credentials that
// do not reach it).
const lockedRepo = "team-z/locked"

// fleetRegistry is an in-process registry holding 3 bases, 3 repositories of 8
// application images on them, one image whose config does not match its layers and one
// repository that cannot be listed.
func fleetRegistry(t *testing.T) string {
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/"+lockedRepo+"/tags/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	imgs, err := fleettest.Build(imagetest.RepoRoot(t), host, fleettest.Spec{Repositories: 3, Tags: 8})
	require.NoError(t, err)
	broken, err := fleettest.Broken()
	require.NoError(t, err)
	imgs = append(imgs, fleettest.Image{Name: "team-z/broken:1", Image: broken}, fleettest.Image{Name: lockedRepo + ":1", Image: broken})
	for _, im := range imgs {
		ref, err := name.ParseReference(host + "/" + im.Name)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, im.Image))
	}
	return host
}

func scanOptions(t testing.TB) scanner.Request {
	return scanner.Request{Data: scanner.Data{DB: filepath.Join(imagetest.RepoRoot(t), "testdata", "osv"), MaxAge: 100 * 365 * 24 * time.Hour}}
}

func TestRegistryScan(t *testing.T) {
	host := fleetRegistry(t)
	ctx := context.Background()
	dir := t.TempDir()
	run := fleet.Run{Targets: []string{host}, Shard: fleet.Shard{Index: 1, Count: 1}, LayerCache: t.TempDir(),
		Options: fleet.Options{Request: scanOptions(t), Parallel: 4, Dir: dir}}
	f, err := run.Do(ctx)
	require.NoError(t, err)

	// 3 bases + 24 applications + the broken image; the locked repository is a problem.
	require.Len(t, f.Images, 28)
	require.Len(t, f.Problems, 1)
	assert.Equal(t, host+"/"+lockedRepo, f.Problems[0].Subject)
	assert.Contains(t, f.Problems[0].Error, "DENIED")
	status := map[string]string{}
	for _, im := range f.Images {
		status[im.Names[0]] = im.Status
		if im.Status != report.FleetError {
			assert.FileExists(t, filepath.Join(dir, im.Report))
		}
	}
	assert.Equal(t, report.FleetError, status[host+"/team-z/broken:1"])
	assert.Equal(t, report.FleetFail, status[host+"/team-a/app0:v1.3"], "lodash 4.17.20 has known vulnerabilities")
	assert.Equal(t, report.FleetFail, status[host+"/base/debian:11"], "Debian 11 packages have known vulnerabilities")
	assert.Equal(t, failure.ExitIncomplete, f.Outcome().ExitCode(), "an image that could not be scanned fails the run closed")

	// Each layer is read once (four images at a time: a scan that needs a layer another is
	// reading waits for it): 3 bases + 24 application layers; the 24 applications' base
	// layers come from the cache.
	assert.Equal(t, int64(27), f.Runs[0].LayersRead)
	assert.Equal(t, int64(24), f.Runs[0].LayersCached)

	// The same images scanned without the cache give the same summary.
	plain := run
	plain.LayerCache, plain.Dir = "", t.TempDir()
	g, err := plain.Do(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(51), g.Runs[0].LayersRead)
	assert.Equal(t, withoutRuns(f), withoutRuns(g))

	// The SARIF summary has a run per scanned image, each with its own category.
	var log struct {
		Runs []struct {
			AutomationDetails struct{ ID string } `json:"automationDetails"`
		} `json:"runs"`
	}
	// In files of at most 20 runs: GitHub code scanning takes no more in one upload.
	cats := map[string]bool{}
	for i, want := range []int{20, 7} {
		raw, err := os.ReadFile(filepath.Join(dir, fleet.SARIFDir, fmt.Sprintf("summary-%d.sarif", i+1)))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &log))
		require.NoError(t, schematest.Validate(t, schematest.Compile(t, "sarif-2.1.0.json"), raw))
		require.NoError(t, schematest.Validate(t, schematest.Compile(t, "sarif-2.1.0-schemastore-draft07.json"), raw))
		require.Len(t, log.Runs, want)
		for _, r := range log.Runs {
			cats[r.AutomationDetails.ID] = true
		}
	}
	assert.Len(t, cats, 27)
	assert.NoFileExists(t, filepath.Join(dir, fleet.SARIFDir, "summary-3.sarif"))
}

func withoutRuns(f *report.Fleet) *report.Fleet {
	g := *f
	g.Runs = nil
	g.Images = append([]report.FleetImage(nil), f.Images...)
	for i := range g.Images {
		g.Images[i].Report = ""
	}
	return &g
}

// The shards' union is exactly the listing, and their merge is the unsharded summary.
func TestShardsAndMerge(t *testing.T) {
	host := fleetRegistry(t)
	ctx := context.Background()
	cache := t.TempDir()
	whole := fleet.Run{Targets: []string{host}, Shard: fleet.Shard{Index: 1, Count: 1}, LayerCache: cache,
		Options: fleet.Options{Request: scanOptions(t), Dir: t.TempDir()}}
	all, err := whole.Do(ctx)
	require.NoError(t, err)

	const n = 4
	var dirs []string
	seen := map[string]int{}
	for i := 1; i <= n; i++ {
		r := whole
		r.Shard = fleet.Shard{Index: i, Count: n}
		r.Dir = t.TempDir()
		f, err := r.Do(ctx)
		require.NoError(t, err)
		assert.Equal(t, all.Runs[0].ListDigest, f.Runs[0].ListDigest)
		for _, im := range f.Images {
			seen[im.Digest]++
		}
		dirs = append(dirs, r.Dir)
	}
	require.Len(t, seen, len(all.Images))
	for d, c := range seen {
		assert.Equal(t, 1, c, "image %s in one shard only", d)
	}

	merged, runs, err := fleet.Merge(dirs)
	require.NoError(t, err)
	assert.Equal(t, withoutRuns(all), withoutRuns(merged))
	assert.Len(t, merged.Runs, n)
	assert.Len(t, runs, 27)
	assert.Equal(t, all.Outcome().ExitCode(), merged.Outcome().ExitCode())

	_, _, err = fleet.Merge(dirs[1:])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shards 1/4 are missing")
	_, _, err = fleet.Merge(append(dirs, dirs[0]))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shard 1/4 is in both")

	// Shard files are input: a failing image's status forged, a shard's label written
	// another way, its SARIF a link to /dev/zero.
	fails := 0
	for _, im := range merged.Images {
		if im.Status == report.FleetFail {
			fails++
		}
	}
	require.Positive(t, fails, "the fleet has failing images")
	failing := ""
	for i, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, fleet.SummaryJSONL))
		require.NoError(t, err)
		if strings.Contains(string(b), `"status":"fail"`) {
			failing = dirs[i]
		}
	}
	require.NotEmpty(t, failing)
	forge := func(t *testing.T, from, to string) []string {
		d := t.TempDir()
		require.NoError(t, os.CopyFS(d, os.DirFS(failing)))
		p := filepath.Join(d, fleet.SummaryJSONL)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Contains(t, string(b), from)
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(string(b), from, to)), 0o644))
		out := append([]string(nil), dirs...)
		for i := range out {
			if out[i] == failing {
				out[i] = d
			}
		}
		return out
	}
	for _, forged := range []string{`"status":"FAIL"`, `"status":""`} {
		_, _, err := fleet.Merge(forge(t, `"status":"fail"`, forged))
		require.Error(t, err, forged)
		assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
		assert.Contains(t, err.Error(), "line ")
	}
	// "pass" with gating findings under fail-on-issues is decided again: still failing.
	m, _, err := fleet.Merge(forge(t, `"status":"fail"`, `"status":"pass"`))
	require.NoError(t, err)
	refails := 0
	for _, im := range m.Images {
		if im.Status == report.FleetFail {
			refails++
		}
	}
	assert.Equal(t, fails, refails)
	var label string
	for i := 1; i <= n; i++ {
		if b, _ := os.ReadFile(filepath.Join(failing, fleet.SummaryJSONL)); strings.Contains(string(b), fmt.Sprintf(`"shard":"%d/4"`, i)) {
			label = fmt.Sprintf("%d/4", i)
		}
	}
	_, _, err = fleet.Merge(append(dirs, forge(t, `"shard":"`+label+`"`, `"shard":"0`+label+`"`)[slices.Index(dirs, failing)]))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shard "+label+" is in both")
	d := forge(t, `"status":"fail"`, `"status":"fail"`)
	for _, dd := range d {
		if !slices.Contains(dirs, dd) {
			sarifs, _ := filepath.Glob(filepath.Join(dd, fleet.SARIFDir, "*.sarif"))
			require.NotEmpty(t, sarifs)
			require.NoError(t, os.Remove(sarifs[0]))
			require.NoError(t, os.Symlink("/dev/zero", sarifs[0]))
		}
	}
	_, _, err = fleet.Merge(d)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "not a regular file")
}

func TestFilters(t *testing.T) {
	host := fleetRegistry(t)
	ctx := context.Background()
	repo := host + "/team-b/app1"
	list := func(f fleet.Filter) []string {
		l, err := fleet.List(ctx, []string{repo}, f, fleet.ListOptions{})
		require.NoError(t, err)
		var tags []string
		for _, tg := range l.Targets {
			for _, n := range tg.Names {
				tags = append(tags, strings.TrimPrefix(n, repo+":"))
			}
		}
		sort.Strings(tags)
		return tags
	}
	assert.Len(t, list(fleet.Filter{}), 8)
	assert.Equal(t, []string{"v1.0", "v1.1", "v1.2"}, list(fleet.Filter{Tags: []string{"v1.[0-2]"}}))
	assert.Equal(t, []string{"v1.6", "v1.7"}, list(fleet.Filter{Newest: 2}))
	// The images were created a day apart from the fixed epoch: v1.5 on day 6.
	epoch := imagebuild.Epoch
	assert.Equal(t, []string{"v1.5", "v1.6", "v1.7"}, list(fleet.Filter{Since: epoch.Add(6 * 24 * time.Hour)}))

	_, err := fleet.List(ctx, []string{repo}, fleet.Filter{Tags: []string{"["}}, fleet.ListOptions{})
	assert.Equal(t, failure.ExitInput, failure.Code(err))
}

func TestParseShard(t *testing.T) {
	none := func(string) string { return "" }
	for _, bad := range []string{"0/4", "5/4", "1/0", "a/b", "1", "1/2/3", "-1/2", "auto"} {
		_, err := fleet.ParseShard(bad, none)
		assert.Error(t, err, bad)
	}
	sh, err := fleet.ParseShard("2/4", none)
	require.NoError(t, err)
	assert.Equal(t, fleet.Shard{Index: 2, Count: 4}, sh)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	sh, err = fleet.ParseShard("auto", env(map[string]string{"JOB_COMPLETION_INDEX": "0", "IMAGEGATE_SHARDS": "3"}))
	require.NoError(t, err)
	assert.Equal(t, fleet.Shard{Index: 1, Count: 3}, sh, "Kubernetes counts from 0")
	sh, err = fleet.ParseShard("auto", env(map[string]string{"SYSTEM_JOBPOSITIONINPHASE": "3", "SYSTEM_TOTALJOBSINPHASE": "3"}))
	require.NoError(t, err)
	assert.Equal(t, fleet.Shard{Index: 3, Count: 3}, sh)
	_, err = fleet.ParseShard("auto", env(map[string]string{"JOB_COMPLETION_INDEX": "3", "IMAGEGATE_SHARDS": "3"}))
	assert.Error(t, err)
}

// A repository on a registry that does not answer is a problem in the listing; the
// reachable repositories are still listed.
func TestUnreachableRepository(t *testing.T) {
	host := fleetRegistry(t)
	l, err := fleet.List(context.Background(), []string{host + "/team-a/app0", "127.0.0.1:1/gone/repo"}, fleet.Filter{}, fleet.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, l.Targets, 8)
	require.Len(t, l.Problems, 1)
	assert.Equal(t, "127.0.0.1:1/gone/repo", l.Problems[0].Subject)
	assert.Contains(t, l.Problems[0].Error, "connection refused")
}
