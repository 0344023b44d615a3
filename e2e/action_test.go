package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runner is a workspace for act: the e2e app, the example workflow as users copy it, the
// action as a release tag has it (action.yml naming a prebuilt image), and stand-ins for
// the public actions act cannot download here.
type runner struct {
	t         *testing.T
	workspace string
	action    string
	source    *osvSource
}

func newRunner(t *testing.T, workflow string) *runner {
	t.Helper()
	requireLinuxAMD64(t)
	for _, v := range []string{"IMAGEGATE_ACT", "IMAGEGATE_RUNNER_IMAGE"} {
		require.NotEmpty(t, os.Getenv(v), "%s: source .ci/services", v)
	}
	image := actionImage(t)
	loadAlpineBase(t)

	// The action as the release workflow tags it: action.yml names the prebuilt image.
	action := t.TempDir()
	a, err := os.ReadFile(repo(t, "action.yml"))
	require.NoError(t, err)
	released := strings.Replace(string(a), "\n  image: Dockerfile\n", "\n  image: docker://"+image+"\n", 1)
	require.NotEqual(t, string(a), released, "action.yml has `image: Dockerfile` on a branch")
	require.NoError(t, os.WriteFile(filepath.Join(action, "action.yml"), []byte(released), 0o644))

	ws := t.TempDir()
	copyDir(t, repo(t, "testdata", "e2e", "app"), ws)
	require.NoError(t, os.MkdirAll(filepath.Join(ws, ".github", "workflows"), 0o755))
	wf, err := os.ReadFile(repo(t, "examples", "github", workflow))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(ws, ".github", "workflows", workflow), wf, 0o644))
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", "app"}} {
		r := run(t, ws, nil, time.Minute, "git", args...)
		require.Equal(t, 0, r.code, r.String())
	}
	return &runner{t: t, workspace: ws, action: action, source: newOSVSource(t)}
}

// act runs one job of the workflow with act in container mode, on a push, and returns
// its result.
func (r *runner) act(workflow, job string, extra ...string) result {
	r.t.Helper()
	return r.actOn("push", workflow, job, extra...)
}

// actOn runs one job of the workflow for event (act's event name: push, pull_request).
func (r *runner) actOn(event, workflow, job string, extra ...string) result {
	r.t.Helper()
	stand := repo(r.t, "testdata", "e2e", "actions")
	args := []string{
		event, "-W", filepath.Join(".github", "workflows", workflow), "-j", job,
		"-P", "ubuntu-latest=" + os.Getenv("IMAGEGATE_RUNNER_IMAGE"),
		// --rm: a job that fails (a gate that fails is what most of these runs check)
		// would leave its container running after the test, and after .ci/run.
		"--pull=false", "--action-offline-mode", "--bind", "--rm",
		"--container-architecture", "linux/amd64",
		"--local-repository", "imagegate/imagegate@v1=" + r.action,
		"--local-repository", "actions/checkout@v4=" + filepath.Join(stand, "checkout"),
		"--local-repository", "actions/cache@v4=" + filepath.Join(stand, "cache"),
		"--local-repository", "github/codeql-action@v3=" + filepath.Join(stand, "codeql-action"),
		"--env", "IMAGEGATE_DB_SOURCE=" + r.source.URL,
	}
	args = append(args, extra...)
	return run(r.t, r.workspace, nil, 10*time.Minute, os.Getenv("IMAGEGATE_ACT"), args...)
}

var outputsLine = regexp.MustCompile(`imagegate result=(\w+) critical=(\d+) high=(\d+) total=(\d+)`)

// The README's workflow, run by a real runner: the image built in one step is scanned by
// name from the daemon in the next, with no db-path (the data is downloaded from the
// source into .cache/imagegate and reused on the next run), the job fails on the findings,
// the SARIF file named by the output is there for upload-sarif, and the later step reads
// the outputs.
func TestActionGatesTheImageBuiltInThePreviousStep(t *testing.T) {
	const wf = "scan-after-build.yml"
	r := newRunner(t, wf)
	res := r.act(wf, "build-and-scan")
	log := res.stdout + res.stderr
	assert.NotEqual(t, 0, res.code, "the gate fails the job: %s", log)
	if os.Getenv("IMAGEGATE_E2E_VERBOSE") != "" {
		t.Log(log)
	}
	assert.Contains(t, log, "Successfully tagged app:ci")
	assert.Contains(t, log, "docker-daemon", "app:ci was read from the daemon")
	assert.Regexp(t, `::error title=imagegate gate failed::imagegate: \d+ findings at or above high`, log)
	assert.Contains(t, log, "CVE-2021-44906", "minimist's advisory, from the downloaded data")
	assert.Contains(t, log, "upload-sarif stand-in: imagegate.sarif ok", "the output names a file later steps can read")
	m := outputsLine.FindStringSubmatch(log)
	require.NotNil(t, m, "the outputs step ran: %s", log)
	assert.Equal(t, "fail", m[1])
	assert.NotEqual(t, "0", m[2])
	assert.Greater(t, r.source.downloads(), 0, "the data was downloaded")
	st, err := os.Stat(filepath.Join(r.workspace, ".cache", "imagegate", "db"))
	require.NoError(t, err, "the data is kept in the workspace for actions/cache")
	assert.True(t, st.IsDir())
	assert.FileExists(t, filepath.Join(r.workspace, "imagegate.sarif"))
	errors := regexp.MustCompile(`::error[ :]`).FindAllString(log, -1)
	assert.LessOrEqual(t, len(errors), 10, "GitHub shows 10 errors a step, the verdict included")

	day := "imagegate-db-" + time.Now().UTC().Format("2006-01-02")
	assert.Contains(t, log, "cache stand-in: no entry for "+day, "the first run finds no data")
	assert.Contains(t, log, "cache stand-in: saved .cache/imagegate as "+day, "the data is kept although the gate failed the job")

	// The next run, on a fresh runner (no .cache in the workspace), restores the day's
	// entry by its key and downloads nothing that has not changed.
	require.NoError(t, os.RemoveAll(filepath.Join(r.workspace, ".cache")))
	before := r.source.downloads()
	res = r.act(wf, "build-and-scan")
	log = res.stdout + res.stderr
	assert.NotEqual(t, 0, res.code)
	assert.Contains(t, log, "cache stand-in: restored .cache/imagegate from "+day+" (exact: true)")
	assert.NotContains(t, log, "cache stand-in: saved", "an exact hit is not saved again")
	assert.Contains(t, log, "unchanged")
	assert.Equal(t, before, r.source.downloads(), "conditional requests: nothing downloaded again")
}

// Two images built by one job and gated in one step (examples/github/several-images.yml):
// one verdict, a SARIF run per image, a JSON report per image named by json-file, the
// counts summed.
func TestActionScansSeveralImagesInOneStep(t *testing.T) {
	const wf = "several-images.yml"
	r := newRunner(t, wf)
	res := r.act(wf, "build-and-scan")
	log := res.stdout + res.stderr
	assert.NotEqual(t, 0, res.code, "minimist's critical advisory in the API fails the job: %s", log)
	assert.Contains(t, log, "Successfully tagged api:ci")
	assert.Contains(t, log, "Successfully tagged worker:ci")
	assert.Regexp(t, `imagegate: 2 images, [12] failing the gate \(docker-daemon:api:ci`, log)
	assert.Regexp(t, `::error title=imagegate gate failed::imagegate: \d+ findings at or above high \(api:ci: .*; worker:ci: .*\)`, log)
	m := outputsLine.FindStringSubmatch(log)
	require.NotNil(t, m, "the outputs step ran: %s", log)
	assert.Equal(t, "fail", m[1])
	assert.Contains(t, log, "imagegate report: imagegate-api-ci.json")
	assert.Contains(t, log, "imagegate report: imagegate-worker-ci.json")
	var sarif struct {
		Runs []struct {
			AutomationDetails struct{ ID string } `json:"automationDetails"`
		} `json:"runs"`
	}
	b, err := os.ReadFile(filepath.Join(r.workspace, "imagegate.sarif"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sarif))
	require.Len(t, sarif.Runs, 2, "a run per image")
	assert.Equal(t, "imagegate/image/api/", sarif.Runs[0].AutomationDetails.ID)
	assert.Equal(t, "imagegate/image/worker/", sarif.Runs[1].AutomationDetails.ID)
	for _, f := range []string{"imagegate-api-ci.json", "imagegate-worker-ci.json"} {
		assert.FileExists(t, filepath.Join(r.workspace, f))
	}
	assert.Contains(t, log, "upload-sarif stand-in: imagegate.sarif ok")
}

// examples/github/pull-request-baseline.yml, run as GitHub would run it: a push to main
// keeps its report in the cache; a pull request that changes nothing passes on the
// image's backlog (nothing new); one that adds a vulnerable package fails on exactly that
// package's findings.
func TestActionGatesPullRequestsOnNewFindings(t *testing.T) {
	const wf = "pull-request-baseline.yml"
	r := newRunner(t, wf)
	res := r.act(wf, "scan")
	log := res.stdout + res.stderr
	require.Equal(t, 0, res.code, "the default branch reports without failing: %s", log)
	head := strings.TrimSpace(run(t, r.workspace, nil, time.Minute, "git", "rev-parse", "HEAD").stdout)
	assert.Contains(t, log, "cache stand-in: saved baseline as imagegate-baseline-"+head)

	pr := func() (result, string) {
		event := filepath.Join(t.TempDir(), "event.json")
		require.NoError(t, os.WriteFile(event, []byte(`{"number":8,"pull_request":{"number":8,"head":{"ref":"feature"},"base":{"ref":"main","sha":"`+head+`"}}}`), 0o644))
		res := r.actOn("pull_request", wf, "scan", "-e", event, "--env", "GITHUB_API_URL=http://127.0.0.1:9")
		return res, res.stdout + res.stderr
	}
	res, log = pr()
	require.Equal(t, 0, res.code, "nothing new: the backlog does not fail the pull request: %s", log)
	assert.Contains(t, log, "cache stand-in: restored baseline from imagegate-baseline-"+head+" (exact: true)")
	assert.Regexp(t, `against the baseline baseline/imagegate\.json: 0 new, [1-9]\d* already there`, log)

	// lodash 4.17.20: a high advisory (command injection in template), so it gates at high.
	lodash := filepath.Join(r.workspace, "node_modules", "lodash")
	require.NoError(t, os.MkdirAll(lodash, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(lodash, "package.json"), []byte(`{"name":"lodash","version":"4.17.20"}`), 0o644))
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", "lodash"}} {
		g := run(t, r.workspace, nil, time.Minute, "git", args...)
		require.Equal(t, 0, g.code, g.String())
	}
	res, log = pr()
	assert.NotEqual(t, 0, res.code, "the new package's findings fail the pull request: %s", log)
	assert.Regexp(t, `against the baseline baseline/imagegate\.json: [1-9]\d* new`, log)
	var rep struct {
		Findings []struct {
			ID       string
			Baseline string
			Package  *struct{ Name string }
		}
	}
	b, err := os.ReadFile(filepath.Join(r.workspace, "imagegate.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	newOnes := 0
	for _, f := range rep.Findings {
		if f.Baseline == "new" {
			newOnes++
			require.NotNil(t, f.Package, f.ID)
			assert.Equal(t, "lodash", f.Package.Name, "only lodash's findings are new: %s", f.ID)
		}
	}
	assert.Positive(t, newOnes)
}

// A `docker save` archive scanned with fail-on-issues false: the job passes and the
// outputs still count the findings.
func TestActionScansAnArchiveAndPasses(t *testing.T) {
	const wf = "scan-after-build.yml"
	r := newRunner(t, wf)
	res := r.act(wf, "archive")
	log := res.stdout + res.stderr
	require.Equal(t, 0, res.code, log)
	assert.Contains(t, log, "docker-archive")
	m := outputsLine.FindStringSubmatch(log)
	require.NotNil(t, m, log)
	assert.Equal(t, "pass", m[1], "fail-on-issues false: the gate passes")
	assert.NotEqual(t, "0", m[2], "and the outputs still count the findings")
	assert.NotEqual(t, "0", m[4])
	assert.Contains(t, log, "upload-sarif stand-in: imagegate.sarif ok")
	assert.Contains(t, log, "imagegate: notice: input fail-on-issues = false relaxes the gate", "the relaxation is in the job's log")
}

// A pull request that commits a link where the SARIF report goes: the step refuses it
// before any work (exit 2, naming it), and the file the link points at is unchanged.
func TestActionRefusesAPlantedReportLink(t *testing.T) {
	const wf = "scan-after-build.yml"
	r := newRunner(t, wf)
	victim := filepath.Join(filepath.Dir(r.workspace), "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious"), 0o644))
	require.NoError(t, os.Symlink(victim, filepath.Join(r.workspace, "imagegate.sarif")))
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", "a link"}} {
		res := run(t, r.workspace, nil, time.Minute, "git", args...)
		require.Equal(t, 0, res.code, res.String())
	}
	res := r.act(wf, "archive")
	log := res.stdout + res.stderr
	assert.NotEqual(t, 0, res.code, log)
	assert.Regexp(t, `::error title=imagegate::output "imagegate\.sarif": is a symbolic link`, log)
	assert.Contains(t, log, "exit with `FAILURE`: 2", "act reports the action's exit code")
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "precious", string(b))
}

// Offline with no data: exit 3 and a message naming the inputs to set.
func TestActionWithoutDataNamesTheInput(t *testing.T) {
	const wf = "scan-after-build.yml"
	r := newRunner(t, wf)
	res := r.act(wf, "archive", "--env", "IMAGEGATE_DB_SOURCE=http://127.0.0.1:9/")
	log := res.stdout + res.stderr
	assert.NotEqual(t, 0, res.code)
	assert.Regexp(t, `::error title=imagegate::no vulnerability data: the download from http://127\.0\.0\.1:9/ failed .* set db-path`, log)
	if !assert.Contains(t, log, "exit with `FAILURE`: 3", "act reports the action's exit code") {
		t.Log(strings.Join(lines(log, "exit"), "\n"))
	}
}

// On a pull request the step keeps the summary as one comment, through the runner's
// GITHUB_API_URL with the job's token (here a local server that records the REST calls
// the comment makes), and the next run edits it in place.
func TestActionCommentsOnThePullRequest(t *testing.T) {
	const wf = "scan-after-build.yml"
	r := newRunner(t, wf)
	var mu sync.Mutex
	var calls []string
	var body string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, req.Method+" "+req.URL.Path+" "+req.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case req.Method == http.MethodGet && req.URL.Path == "/repos/owner/repo/issues/7/comments":
			if body == "" {
				io.WriteString(w, "[]")
				return
			}
			json.NewEncoder(w).Encode([]map[string]any{{"id": 1, "body": body, "user": map[string]any{"login": "github-actions[bot]"}}})
		case req.Method == http.MethodPost && req.URL.Path == "/repos/owner/repo/issues/7/comments",
			req.Method == http.MethodPatch && req.URL.Path == "/repos/owner/repo/issues/comments/1":
			var c struct{ Body string }
			json.NewDecoder(req.Body).Decode(&c)
			body = c.Body
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"id": 1, "body": body})
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found"}`)
		}
	}))
	defer api.Close()
	event := filepath.Join(t.TempDir(), "event.json")
	require.NoError(t, os.WriteFile(event, []byte(`{"number":7,"pull_request":{"number":7,"head":{"ref":"feature"},"base":{"ref":"main"}}}`), 0o644))
	args := []string{"-e", event, "-s", "GITHUB_TOKEN=ghs_e2e", "--env", "GITHUB_API_URL=" + api.URL, "--env", "GITHUB_REPOSITORY=owner/repo"}
	for i, want := range []string{"POST", "PATCH"} {
		res := r.actOn("pull_request", wf, "archive", args...)
		log := res.stdout + res.stderr
		require.Equal(t, 0, res.code, log)
		assert.NotContains(t, log, "pull request comment:", "no warning: the comment was written")
		mu.Lock()
		require.NotEmpty(t, calls, "the step called the API: %s", log)
		last := calls[len(calls)-1]
		assert.True(t, strings.HasPrefix(last, want+" "), "run %d: %v", i+1, calls)
		assert.True(t, strings.HasSuffix(last, "Bearer ghs_e2e"), last)
		assert.Contains(t, body, "<!-- imagegate:pr-comment archive ")
		assert.Contains(t, body, "## imagegate:")
		mu.Unlock()
	}
}
