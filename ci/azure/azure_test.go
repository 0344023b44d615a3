package azure_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/ci"
	"github.com/imagegate/imagegate/ci/azure"
	"github.com/imagegate/imagegate/internal/imagetest"
)

func TestMain(m *testing.M) {
	cache, _ := os.MkdirTemp("", "imagegate-azure-cache")
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

func repo(t *testing.T, p ...string) string {
	return filepath.Join(append([]string{imagetest.RepoRoot(t)}, p...)...)
}

func runTask(t *testing.T, in map[string]string, env map[string]string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{"TF_BUILD": "True", "BUILD_SOURCESDIRECTORY": imagetest.RepoRoot(t)}
	for k, v := range env {
		all[k] = v
	}
	for k, v := range in {
		all[azure.InputPrefix+k] = v
	}
	if _, ok := in["sarifFile"]; !ok {
		all[azure.InputPrefix+"sarifFile"] = filepath.Join(dir, "imagegate.sarif")
	}
	var out bytes.Buffer
	code := azure.Run(context.Background(), func(k string) string { return all[k] }, &out)
	return code, out.String()
}

func demo(t *testing.T) map[string]string {
	return map[string]string{
		"dockerImageName": repo(t, "testdata", "demo", "demo-image.tar"),
		"dockerfilePath":  repo(t, "testdata", "demo", "Dockerfile"),
		"dbPath":          repo(t, "testdata", "osv"),
		"dbMaxAge":        "876000h",
	}
}

var logissue = regexp.MustCompile(`(?m)^##vso\[task\.logissue ([^\]]*)\](.*)$`)

func TestLoggingCommands(t *testing.T) {
	code, log := runTask(t, demo(t), nil)
	assert.Equal(t, 1, code)
	assert.Contains(t, log, "##vso[task.complete result=Failed;]")
	assert.Regexp(t, `##vso\[artifact\.upload artifactname=CodeAnalysisLogs;containerfolder=CodeAnalysisLogs;\]/.*imagegate\.sarif`, log)
	assert.Regexp(t, `##vso\[task\.uploadsummary\]/.*imagegate\.md`, log)
	assert.Regexp(t, `##vso\[artifact\.upload artifactname=imagegate-sbom;containerfolder=imagegate-sbom;\]`, log)
	assert.Contains(t, log, "##vso[task.setvariable isOutput=true;variable=result;]fail")
	assert.Regexp(t, `##vso\[task\.setvariable isOutput=true;variable=critical;\]\d+`, log)

	counts := map[string]int{}
	for _, m := range logissue.FindAllStringSubmatch(log, -1) {
		if strings.Contains(m[1], "code=") {
			typ := regexp.MustCompile(`type=(\w+)`).FindStringSubmatch(m[1])[1]
			counts[typ]++
		}
	}
	assert.Equal(t, azure.IssuesPerType-1, counts["error"], "the agent keeps 10 per type: the most severe, and the verdict")
	all := map[string]int{}
	for _, m := range logissue.FindAllStringSubmatch(log, -1) {
		all[regexp.MustCompile(`type=(\w+)`).FindStringSubmatch(m[1])[1]]++
	}
	assert.Equal(t, azure.IssuesPerType, all["error"], "the verdict is within the 10 errors")
	assert.LessOrEqual(t, all["warning"], azure.IssuesPerType)
	assert.Regexp(t, `##vso\[task\.logissue type=error;\]imagegate: \d+ findings at or above low \(checks run: [a-z, ]+; unknown severity: fail, 0 let through; \d+ not reachable in their Go binaries \(set aside\)\)\n`, log)
	assert.Regexp(t, `##vso\[task\.logissue code=DF001;columnnumber=1;linenumber=9;sourcepath=testdata/demo/Dockerfile;type=error;\]HIGH DF001`, log)

	// Passing with issues.
	in := demo(t)
	in["failOnIssues"] = "false"
	in["monitorWhen"] = "noIssuesFound"
	code, log = runTask(t, in, nil)
	assert.Equal(t, 0, code)
	assert.Contains(t, log, "##vso[task.complete result=SucceededWithIssues;]")
	assert.NotContains(t, log, "artifactname=imagegate-sbom", "findings: no SBOM with noIssuesFound")
}

func TestEscaping(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Docker;file]%")
	require.NoError(t, os.WriteFile(df, []byte("FROM alpine:3.20\nENV API_TOKEN=abc%def\nUSER app\nHEALTHCHECK CMD [\"true\"]\n"), 0o644))
	in := demo(t)
	in["dockerfilePath"] = df
	_, log := runTask(t, in, nil)
	assert.Contains(t, log, "Docker%3Bfile%5D%AZP25;type=error;]CRITICAL DF009: Secret in ENV: ENV API_TOKEN")
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "##vso[") {
			assert.NotContains(t, line, "\r")
		}
	}
}

func TestBadInput(t *testing.T) {
	for msg, in := range map[string]map[string]string{
		"input dockerImageName is required": {},
		"input severityThreshold":           {"dockerImageName": "alpine", "severityThreshold": "severe"},
		"input failOnIssues":                {"dockerImageName": "alpine", "failOnIssues": "maybe"},
		"input additionalArguments":         {"dockerImageName": "alpine", "additionalArguments": "--bogus"},
		"(set the dbPath input)":            {"dockerImageName": "alpine", "dbPath": filepath.Join(t.TempDir(), "none")},
	} {
		code, log := runTask(t, in, nil)
		assert.NotEqual(t, 0, code, msg)
		assert.Contains(t, log, "##vso[task.complete result=Failed;]")
		assert.Regexp(t, `##vso\[task\.logissue type=error;\].*`+regexp.QuoteMeta(msg), log)
	}
}

// fakeDevOps speaks the Azure DevOps REST routes the git client calls: resource areas,
// the OPTIONS location list, and pull-request threads and comments.
type fakeDevOps struct {
	mu        sync.Mutex
	threads   []map[string]any
	created   int
	updated   int
	forbidden bool
	auth      []string
}

func (f *fakeDevOps) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	write := func(v any) { json.NewEncoder(w).Encode(v) }
	p := r.URL.Path
	switch {
	case r.Method == http.MethodOptions && p == "/_apis":
		loc := func(id, area, resource, route string) map[string]any {
			return map[string]any{"id": id, "area": area, "resourceName": resource, "routeTemplate": route, "resourceVersion": 1, "minVersion": "1.0", "maxVersion": "7.1", "releasedVersion": "7.0"}
		}
		write(map[string]any{"count": 3, "value": []any{
			loc("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}"),
			loc("ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", "git", "pullRequestThreads", "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}"),
			loc("965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b", "git", "pullRequestThreadComments", "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments/{commentId}"),
		}})
	case p == "/_apis/ResourceAreas":
		write(map[string]any{"count": 0, "value": []any{}})
	case f.forbidden:
		w.WriteHeader(http.StatusForbidden)
		write(map[string]any{"message": "TF401027: You need the Git 'PullRequestContribute' permission", "typeKey": "GitNeedsPermissionException"})
	case strings.HasSuffix(p, "/threads") && r.Method == http.MethodGet:
		write(map[string]any{"count": len(f.threads), "value": f.threads})
	case strings.HasSuffix(p, "/threads") && r.Method == http.MethodPost:
		var th map[string]any
		json.NewDecoder(r.Body).Decode(&th)
		f.created++
		th["id"] = len(f.threads) + 1
		for i, c := range th["comments"].([]any) {
			c.(map[string]any)["id"] = i + 1
		}
		f.threads = append(f.threads, th)
		write(th)
	case strings.Contains(p, "/comments/") && r.Method == http.MethodPatch:
		var c map[string]any
		json.NewDecoder(r.Body).Decode(&c)
		f.updated++
		// threads/<id>/comments/<id>
		parts := strings.Split(p, "/")
		for _, th := range f.threads {
			if strings.TrimSpace(jsonString(th["id"])) == parts[len(parts)-3] {
				th["comments"].([]any)[0].(map[string]any)["content"] = c["content"]
			}
		}
		c["id"] = 1
		write(c)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"not found: `+r.Method+" "+p+`"}`)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func prEnv(url string) map[string]string {
	return map[string]string{
		"SYSTEM_COLLECTIONURI":             url + "/",
		"SYSTEM_TEAMPROJECT":               "proj",
		"BUILD_REPOSITORY_ID":              "11111111-2222-3333-4444-555555555555",
		"SYSTEM_PULLREQUEST_PULLREQUESTID": "42",
		"IMAGEGATE_ACCESS_TOKEN":           "job-token",
		"BUILD_REPOSITORY_PROVIDER":        "TfsGit",
	}
}

func TestPullRequestComment(t *testing.T) {
	fake := &fakeDevOps{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	in := demo(t)
	code, log := runTask(t, in, prEnv(srv.URL))
	assert.Equal(t, 1, code)
	assert.NotContains(t, log, "pull request comment:", "no warning: the comment was posted")
	fake.mu.Lock()
	firstCreated := fake.created
	summaries := 0
	lineThreads := 0
	for _, th := range fake.threads {
		content := th["comments"].([]any)[0].(map[string]any)["content"].(string)
		if strings.Contains(content, "<!-- imagegate:summary -->") {
			summaries++
			assert.Contains(t, content, "## imagegate: ❌ FAIL")
		}
		if tc, ok := th["threadContext"].(map[string]any); ok {
			lineThreads++
			assert.Equal(t, "/testdata/demo/Dockerfile", tc["filePath"])
		}
	}
	assert.Equal(t, 1, summaries)
	assert.Greater(t, lineThreads, 0)
	assert.LessOrEqual(t, lineThreads, 10)
	assert.Contains(t, fake.auth, "Bearer job-token")
	fake.mu.Unlock()

	// A second run updates the summary in place and adds no thread twice.
	_, log = runTask(t, in, prEnv(srv.URL))
	assert.NotContains(t, log, "pull request comment:")
	fake.mu.Lock()
	assert.Equal(t, 1, fake.updated)
	assert.Equal(t, firstCreated, fake.created, "no new threads on the re-run")
	fake.mu.Unlock()

	// Without permission: a warning, not a failure of the task itself.
	fake.forbidden = true
	in["failOnIssues"] = "false"
	code, log = runTask(t, in, prEnv(srv.URL))
	assert.Equal(t, 0, code)
	assert.Regexp(t, `##vso\[task\.logissue type=warning;\]pull request comment: the job token may not comment \(HTTP 403\)`, log)
	assert.Contains(t, log, "result=SucceededWithIssues")

	// Turned off: no calls.
	fake.forbidden = false
	before := len(fake.auth)
	in["prComment"] = "false"
	runTask(t, in, prEnv(srv.URL))
	assert.Equal(t, before, len(fake.auth))

	// A pipeline building a GitHub repository: no Azure Repos threads to call.
	in["prComment"] = "true"
	env := prEnv(srv.URL)
	env["BUILD_REPOSITORY_PROVIDER"] = "GitHub"
	_, log = runTask(t, in, env)
	assert.Equal(t, before, len(fake.auth))
	assert.NotContains(t, log, "pull request comment")
}

// The agent gives an empty filePath input as the sources folder: that is "not given".
func TestEmptyPathInputs(t *testing.T) {
	src := t.TempDir()
	env := map[string]string{
		"BUILD_SOURCESDIRECTORY":             src,
		azure.InputPrefix + "ignoreFile":     src,
		azure.InputPrefix + "vexFile":        src + "/",
		azure.InputPrefix + "dbPath":         filepath.Join(src, "db"),
		azure.InputPrefix + "dockerfilePath": "",
	}
	h := azure.New(func(k string) string { return env[k] }, io.Discard)
	assert.Equal(t, "", h.Input("ignore-file"))
	assert.Equal(t, "", h.Input("vex"))
	assert.Equal(t, filepath.Join(src, "db"), h.Input("db-path"))
	assert.Equal(t, "ignoreFile", h.InputName("ignore-file"))

	// A whole run with them left empty does not read the folder as a config file.
	in := demo(t)
	in["ignoreFile"] = src
	in["vexFile"] = src
	in["failOnIssues"] = "false"
	code, log := runTask(t, in, map[string]string{"BUILD_SOURCESDIRECTORY": src})
	assert.Equal(t, 0, code, log)
}

// A SnykSecurityScan@1 step works with only its task line changed: Snyk's own inputs are
// reported and ignored; testType app is refused, as imagegate tests images.
func TestSnykInputs(t *testing.T) {
	in := demo(t)
	in["failOnIssues"] = "false"
	in["serviceConnectionEndpoint"] = "snyk-conn"
	in["testType"] = "container"
	in["organization"] = "acme"
	in["additionalArguments"] = "--exclude-base-image-vulns --severity-threshold=critical"
	code, log := runTask(t, in, nil)
	assert.Equal(t, 0, code, log)
	assert.Contains(t, log, "input serviceConnectionEndpoint is SnykSecurityScan's")
	assert.Contains(t, log, "input organization is SnykSecurityScan's")

	in["testType"] = "app"
	code, log = runTask(t, in, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, log, "##vso[task.complete result=Failed;]")
}

// Text from the image that reads like a logging command is printed inert.
func TestUntrustedTextIsInert(t *testing.T) {
	var out strings.Builder
	h := azure.New(func(string) string { return "" }, &out)
	fmt.Fprint(h.Log(), "os: linux\n##vso[task.complete result=Succeeded;]forged\nx ##[error]y\x1b[31m")
	fmt.Fprint(h.Log(), "##vso[task.setvariable variable=a]b\n")
	h.Complete(ci.Failed, "real")
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "##vso[") {
			assert.True(t, strings.HasPrefix(line, "##vso[task.complete result=Failed;]real"), line)
		}
		assert.NotContains(t, line, "##[error]")
		assert.NotContains(t, line, "\x1b")
	}
}

// A comment anyone can write on the pull request, ending in imagegate's finding marker
// with no fingerprint after it, is not ours and breaks nothing.
func TestPullRequestCommentWithABareMarker(t *testing.T) {
	fake := &fakeDevOps{threads: []map[string]any{{"id": 1, "comments": []any{map[string]any{"id": 1, "content": "look: <!-- imagegate:finding "}}}}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	code, log := runTask(t, demo(t), prEnv(srv.URL))
	assert.Equal(t, 1, code, log)
	assert.NotContains(t, log, "pull request comment:")
	fake.mu.Lock()
	defer fake.mu.Unlock()
	assert.Positive(t, fake.created, "imagegate's threads were added")
}
