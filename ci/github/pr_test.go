package github_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// fakeGitHub serves the REST routes the comment uses: list, create and edit issue
// comments of one pull request (owner/repo#7), as api.github.com answers them.
type fakeGitHub struct {
	mu        sync.Mutex
	comments  []map[string]any
	created   int
	edited    int
	forbidden bool
	failPosts int // the next creations answered 403
	auth      []string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost && f.failPosts > 0 {
		f.failPosts--
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "Resource not accessible by integration"})
		return
	}
	if f.forbidden && r.Method == http.MethodPost {
		// A read-only token (a fork's pull request) may list but not create: 403 is the
		// answer the description lists for creating.
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "Resource not accessible by integration"})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/repos/owner/repo/issues/7/comments":
		_ = json.NewEncoder(w).Encode(f.comments)
	case r.Method == http.MethodPost && r.URL.Path == "/repos/owner/repo/issues/7/comments":
		var c map[string]any
		_ = json.NewDecoder(r.Body).Decode(&c)
		c["id"] = len(f.comments) + 100
		c["user"] = map[string]any{"login": "github-actions[bot]", "type": "Bot"}
		f.comments = append(f.comments, c)
		f.created++
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(c)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/owner/repo/issues/comments/"):
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/repos/owner/repo/issues/comments/"))
		var c map[string]any
		_ = json.NewDecoder(r.Body).Decode(&c)
		for _, old := range f.comments {
			if fmt.Sprint(old["id"]) == strconv.Itoa(id) {
				old["body"] = c["body"]
				f.edited++
				_ = json.NewEncoder(w).Encode(old)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
	default:
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "Not Found: " + r.Method + " " + r.URL.Path})
	}
}

// restDescription is the excerpt of GitHub's REST API description with the operations the
// comment calls (testdata/github/issue-comments.openapi.yaml).
type restDescription struct {
	Paths map[string]map[string]struct {
		OperationID string              `yaml:"operationId"`
		Parameters  []map[string]string `yaml:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema struct {
					Properties map[string]struct{ Type string } `yaml:"properties"`
					Required   []string                         `yaml:"required"`
				} `yaml:"schema"`
			} `yaml:"content"`
		} `yaml:"requestBody"`
		Responses map[string]any `yaml:"responses"`
	} `yaml:"paths"`
	Components struct {
		Parameters map[string]struct{ Name, In string } `yaml:"parameters"`
	} `yaml:"components"`
}

// described serves h and fails the test on any request that is not one of the described
// operations as the description says it (method, path, query parameters, body), and on
// any answer whose status the operation does not list.
func described(t *testing.T, h http.Handler) http.Handler {
	b, err := os.ReadFile(repo(t, "testdata", "github", "issue-comments.openapi.yaml"))
	require.NoError(t, err)
	var d restDescription
	require.NoError(t, yaml.Unmarshal(b, &d))
	require.Len(t, d.Paths, 2)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for tmpl, ops := range d.Paths {
			segs := strings.Split(tmpl, "/")
			for i, seg := range segs {
				if strings.HasPrefix(seg, "{") {
					segs[i] = "[^/]+"
				} else {
					segs[i] = regexp.QuoteMeta(seg)
				}
			}
			if !regexp.MustCompile("^" + strings.Join(segs, "/") + "$").MatchString(r.URL.Path) {
				continue
			}
			op, ok := ops[strings.ToLower(r.Method)]
			if !assert.True(t, ok, "%s %s: the description has no such operation", r.Method, tmpl) {
				break
			}
			query := map[string]bool{}
			for _, p := range op.Parameters {
				if c := d.Components.Parameters[strings.TrimPrefix(p["$ref"], "#/components/parameters/")]; c.In == "query" {
					query[c.Name] = true
				}
			}
			for k := range r.URL.Query() {
				assert.True(t, query[k], "%s: query parameter %q is not described", op.OperationID, k)
			}
			if op.RequestBody != nil {
				schema := op.RequestBody.Content["application/json"].Schema
				var body map[string]any
				raw, _ := io.ReadAll(r.Body)
				require.NoError(t, json.Unmarshal(raw, &body), "%s: the body is a JSON object", op.OperationID)
				for _, k := range schema.Required {
					assert.Contains(t, body, k, "%s: required %q", op.OperationID, k)
				}
				for k, v := range body {
					p, ok := schema.Properties[k]
					if assert.True(t, ok, "%s: property %q is not described", op.OperationID, k) && p.Type == "string" {
						assert.IsType(t, "", v, "%s: %q is a string", op.OperationID, k)
					}
				}
				r.Body = io.NopCloser(bytes.NewReader(raw))
			}
			rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
			h.ServeHTTP(rec, r)
			assert.Contains(t, op.Responses, strconv.Itoa(rec.code), "%s answered %d, which it does not list", op.OperationID, rec.code)
			return
		}
		t.Errorf("%s %s: not a described route", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func prEvent(t *testing.T, srv *httptest.Server) map[string]string {
	p := filepath.Join(t.TempDir(), "event.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"action":"synchronize","number":7,"pull_request":{"number":7}}`), 0o644))
	return map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": p, "GITHUB_REPOSITORY": "owner/repo",
		"GITHUB_API_URL": srv.URL, "GITHUB_JOB": "scan"}
}

// On a pull request the summary is one comment per job and image, written with the
// token and edited in place by the next run; a comment someone else wrote with the same
// marker is left alone; a token that may not comment is a warning and the gate's exit
// code stands; pr-comment: false and other events make no call.
func TestPullRequestComment(t *testing.T) {
	fake := &fakeGitHub{}
	srv := httptest.NewServer(described(t, fake))
	defer srv.Close()
	in := demoInputs(t)
	in["github-token"] = "ghs_jobtoken"
	env := prEvent(t, srv)

	// A comment a pull request's author wrote, carrying the marker.
	fake.comments = []map[string]any{{"id": 1, "body": "<!-- imagegate:pr-comment scan " + in["image"] + " --> all clear!", "user": map[string]any{"login": "mallory"}}}
	r := runActionEnv(t, in, env)
	assert.Equal(t, 1, r.code)
	assert.NotContains(t, r.log, "pull request comment:")
	fake.mu.Lock()
	assert.Equal(t, 1, fake.created)
	assert.Equal(t, 0, fake.edited, "mallory's comment is not ours")
	body := fake.comments[1]["body"].(string)
	assert.True(t, strings.HasPrefix(body, "<!-- imagegate:pr-comment scan "), body[:80])
	assert.Contains(t, body, "## imagegate: ❌ FAIL")
	assert.Contains(t, fake.auth, "Bearer ghs_jobtoken")
	fake.mu.Unlock()
	assert.Equal(t, 1, strings.Count(r.log, "ghs_jobtoken"), "the token is only in the mask command")
	assert.Contains(t, r.log, "::add-mask::ghs_jobtoken")

	r = runActionEnv(t, in, env)
	fake.mu.Lock()
	assert.Equal(t, 1, fake.created, "edited in place, not added again")
	assert.Equal(t, 1, fake.edited)
	fake.mu.Unlock()

	fake.mu.Lock()
	fake.forbidden, fake.comments = true, nil
	fake.mu.Unlock()
	r = runActionEnv(t, in, env)
	assert.Equal(t, 1, r.code, "the gate's exit code stands")
	assert.Regexp(t, `::warning[^:]*::pull request comment: the token may not comment \(HTTP 403`, r.log)
	fake.forbidden = false

	calls := len(fake.auth)
	in["pr-comment"] = "false"
	runActionEnv(t, in, env)
	delete(in, "pr-comment")
	env["GITHUB_EVENT_NAME"] = "push"
	runActionEnv(t, in, env)
	assert.Equal(t, calls, len(fake.auth), "no call when turned off or not a pull request")
}

// The job's token never goes to an API over plain HTTP off this machine: the comment is a
// warning, the gate's exit code stands.
func TestPullRequestCommentRefusesPlainHTTP(t *testing.T) {
	fake := &fakeGitHub{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	in := demoInputs(t)
	in["github-token"] = "ghs_jobtoken"
	env := prEvent(t, srv)
	env["GITHUB_API_URL"] = "http://api.example.com"
	r := runActionEnv(t, in, env)
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `::warning[^:]*::pull request comment: GITHUB_API_URL: http://api\.example\.com: want an https URL`, r.log)
}

// With several images, a comment that fails does not keep the next images' comments off
// the pull request: each is tried, and the warning says how many failed.
func TestPullRequestCommentTriesEveryImage(t *testing.T) {
	fake := &fakeGitHub{failPosts: 1}
	srv := httptest.NewServer(described(t, fake))
	defer srv.Close()
	in := demoInputs(t)
	demo, err := os.ReadFile(in["image"])
	require.NoError(t, err)
	var images []string
	for i := range 3 {
		p := filepath.Join(t.TempDir(), fmt.Sprintf("image%d.tar", i))
		require.NoError(t, os.WriteFile(p, demo, 0o644))
		images = append(images, p)
	}
	in["image"] = strings.Join(images, "\n")
	delete(in, "dockerfile")
	in["github-token"] = "ghs_jobtoken"
	r := runActionEnv(t, in, prEvent(t, srv))
	assert.Equal(t, 1, r.code, "the gate's exit code stands")
	fake.mu.Lock()
	assert.Equal(t, 2, fake.created, "the images after the failed one")
	fake.mu.Unlock()
	assert.Regexp(t, `::warning[^:]*::pull request comment: the token may not comment \(HTTP 403`, r.log)

	fake.mu.Lock()
	fake.failPosts, fake.comments = 3, nil
	fake.mu.Unlock()
	r = runActionEnv(t, in, prEvent(t, srv))
	assert.Contains(t, r.log, "(and 2 more images' comments)")
}
