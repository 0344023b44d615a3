package github_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/ci/github"
	"github.com/imagegate/imagegate/internal/imagetest"
)

func TestMain(m *testing.M) {
	cache, _ := os.MkdirTemp("", "imagegate-gh-cache")
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

type run struct {
	code    int
	log     string
	outputs map[string]string
	summary string
	dir     string
}

// runAction runs the front end as GitHub would: GITHUB_ACTIONS=true, INPUT_* variables,
// and temporary GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.
func runAction(t *testing.T, in map[string]string) run {
	t.Helper()
	return runActionEnv(t, in, nil)
}

// runActionEnv is runAction with more of the runner's environment (the event, the API).
func runActionEnv(t *testing.T, in, more map[string]string) run {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_WORKSPACE":    imagetest.RepoRoot(t),
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
	for k, v := range in {
		env["INPUT_"+strings.ToUpper(strings.ReplaceAll(k, " ", "_"))] = v
	}
	for k, v := range more {
		env[k] = v
	}
	if _, ok := in["sarif-file"]; !ok {
		env["INPUT_SARIF-FILE"] = filepath.Join(dir, "imagegate.sarif")
	}
	var out bytes.Buffer
	code := github.Run(context.Background(), func(k string) string { return env[k] }, &out)
	r := run{code: code, log: out.String(), dir: dir, outputs: map[string]string{}}
	if b, err := os.ReadFile(env["GITHUB_OUTPUT"]); err == nil {
		r.outputs = parseOutputs(t, string(b))
	}
	if b, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); err == nil {
		r.summary = string(b)
	}
	return r
}

// parseOutputs reads GITHUB_OUTPUT's name<<DELIM ... DELIM blocks.
func parseOutputs(t *testing.T, s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		require.Regexp(t, `^ghadelimiter_[0-9a-f]{32}$`, delim)
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func repo(t *testing.T, p ...string) string {
	return filepath.Join(append([]string{imagetest.RepoRoot(t)}, p...)...)
}

func demoInputs(t *testing.T) map[string]string {
	return map[string]string{
		"image":      repo(t, "testdata", "demo", "demo-image.tar"),
		"dockerfile": repo(t, "testdata", "demo", "Dockerfile"),
		"db-path":    repo(t, "testdata", "osv"),
		"db-max-age": "876000h",
	}
}

var annotation = regexp.MustCompile(`(?m)^::(error|warning|notice)( [^:]*)?::`)

func TestFailingGate(t *testing.T) {
	r := runAction(t, demoInputs(t))
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "fail", r.outputs["result"])
	// The files are outside the workspace here, so their paths stay absolute.
	assert.Equal(t, filepath.Join(r.dir, "imagegate.sarif"), r.outputs["sarif-file"])
	assert.Equal(t, filepath.Join(r.dir, "imagegate.json"), r.outputs["json-file"])
	for _, k := range []string{"critical", "high", "medium", "low", "total"} {
		assert.Regexp(t, `^\d+$`, r.outputs[k], k)
	}
	assert.NotEqual(t, "0", r.outputs["total"])
	for _, f := range []string{"imagegate.sarif", "imagegate.json"} {
		st, err := os.Stat(filepath.Join(r.dir, f))
		require.NoError(t, err)
		assert.Greater(t, st.Size(), int64(1000))
	}
	assert.Contains(t, r.summary, "## imagegate: ❌ FAIL")
	assert.Contains(t, r.summary, "more findings are not annotated")
	assert.Contains(t, r.log, "::group::imagegate scan ")
	assert.Contains(t, r.log, "::endgroup::")

	// Annotations: at most 10 per level, most severe first, Dockerfile ones on their line.
	counts := map[string]int{}
	for _, m := range annotation.FindAllStringSubmatch(r.log, -1) {
		counts[m[1]]++
	}
	assert.Equal(t, 10, counts["error"]) // 9 findings + the gate's own error: GitHub shows 10
	assert.LessOrEqual(t, counts["warning"], 10)
	assert.LessOrEqual(t, counts["notice"], 10)
	assert.Regexp(t, `(?m)^::error endLine=9,file=testdata/demo/Dockerfile,line=9,title=HIGH DF001%3A [^:]*::the final stage`, r.log)
	assert.Regexp(t, `(?m)^::error title=imagegate gate failed::imagegate: \d+ findings at or above low \(checks run: [a-z, ]+; unknown severity: fail, 0 let through; \d+ not reachable in their Go binaries \(set aside\)\)$`, r.log)
	// The sum of the severity outputs is the total.
	sum := 0
	for _, k := range []string{"critical", "high", "medium", "low", "unknown"} {
		n, err := strconv.Atoi(r.outputs[k])
		require.NoError(t, err, k)
		sum += n
	}
	assert.Equal(t, r.outputs["total"], strconv.Itoa(sum))

	// The report in the log runs with workflow commands stopped, and they resume after it.
	m := regexp.MustCompile(`(?m)^::stop-commands::(imagegate-[0-9a-f]{32})$`).FindStringSubmatch(r.log)
	require.NotNil(t, m, "the report is printed with commands stopped")
	start := strings.Index(r.log, m[0])
	end := strings.Index(r.log, "::"+m[1]+"::")
	require.Greater(t, end, start)
	assert.Contains(t, r.log[start:end], "Vulnerabilities (")
	assert.NotRegexp(t, annotation, r.log[start+len(m[0]):end])
}

func TestPassingGate(t *testing.T) {
	in := demoInputs(t)
	in["fail-on-issues"] = "false"
	in["annotations"] = "false"
	in["summary"] = "false"
	r := runAction(t, in)
	assert.Equal(t, 0, r.code, r.log)
	assert.Equal(t, "pass", r.outputs["result"])
	assert.NotEqual(t, "0", r.outputs["total"], "the findings are still reported")
	assert.Empty(t, r.summary)
	assert.NotRegexp(t, annotation, strings.ReplaceAll(r.log, "::warning::", ""))

	in = demoInputs(t)
	in["severity-threshold"] = "critical"
	in["ignore-file"] = repo(t, "testdata", "demo", "imagegate.yaml")
	in["vex"] = repo(t, "testdata", "demo", "demo.openvex.json")
	in["image"] = repo(t, "testdata", "demo", "demo-image.tar")
	r = runAction(t, in)
	// axios' critical vulnerability is neither ignored nor in the VEX document.
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "1", r.outputs["critical"])
}

func TestAnnotationEscaping(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Docker,file:100%")
	require.NoError(t, os.WriteFile(df, []byte("FROM alpine:3.20\nENV API_TOKEN=abc%def\nUSER app\nHEALTHCHECK CMD [\"true\"]\n"), 0o644))
	in := demoInputs(t)
	in["dockerfile"] = df
	r := runAction(t, in)
	require.Equal(t, 1, r.code)
	// Properties escape %, : and ,; the message escapes % and newlines.
	assert.Contains(t, r.log, "Docker%2Cfile%3A100%25,line=2,title=CRITICAL DF009%3A Secret in ENV::ENV API_TOKEN")
	assert.Contains(t, r.log, "%0AFix: ")
	for _, line := range strings.Split(r.log, "\n") {
		if strings.HasPrefix(line, "::error file=") {
			assert.NotContains(t, line, "\r")
		}
	}
}

func TestBadInputs(t *testing.T) {
	cases := map[string]map[string]string{
		"input image is required":   {"severity-threshold": "low"},
		"input severity-threshold":  {"image": "alpine", "severity-threshold": "severe"},
		"input fail-on-issues":      {"image": "alpine", "fail-on-issues": "maybe"},
		"no such file or directory": {"image": "./missing.tar", "db-path": repo(t, "testdata", "osv")},
		// The remedy in the Action's words, not the CLI's.
		"or name another database (set the db-path input)": {"image": "alpine", "db-path": filepath.Join(t.TempDir(), "none")},
	}
	for msg, in := range cases {
		r := runAction(t, in)
		assert.NotEqual(t, 0, r.code, msg)
		lines := strings.Split(strings.TrimSpace(r.log), "\n")
		var errs []string
		for _, l := range lines {
			if strings.HasPrefix(l, "::error title=imagegate::") {
				errs = append(errs, l)
			}
		}
		require.Len(t, errs, 1, r.log)
		assert.Contains(t, errs[0], msg)
	}
	r := runAction(t, map[string]string{"image": "alpine", "fail-on-issues": "maybe"})
	assert.Equal(t, 2, r.code)
	r = runAction(t, map[string]string{"image": "alpine", "db-path": filepath.Join(t.TempDir(), "none")})
	assert.Equal(t, 3, r.code)
}

func TestSecretsAreMasked(t *testing.T) {
	in := demoInputs(t)
	in["registry-password"] = "hunter2-registry-token"
	in["fail-on-issues"] = "false"
	r := runAction(t, in)
	assert.Contains(t, r.log, "::add-mask::hunter2-registry-token")
	assert.Equal(t, 1, strings.Count(r.log, "hunter2-registry-token"))
}

// An input that relaxes the gate leaves a notice in the log, naming the input.
func TestRelaxingInputsAreNoticed(t *testing.T) {
	in := demoInputs(t)
	in["fail-on-issues"] = "false"
	in["additional-arguments"] = "--allow-incomplete"
	r := runAction(t, in)
	assert.Equal(t, 0, r.code, r.log)
	assert.Contains(t, r.log, "imagegate: notice: input fail-on-issues = false relaxes the gate: findings are reported, and the gate passes whatever they are\n")
	assert.Contains(t, r.log, "imagegate: notice: --allow-incomplete in input additional-arguments = true relaxes the gate")
}

// Several images in one step (one per line): one verdict and exit code, a SARIF run and a
// summary section per image, a JSON report per image (json-file names them, a line each),
// the outputs summed, and the annotation budget shared with the verdict's slot kept.
func TestSeveralImagesInOneStep(t *testing.T) {
	demo := repo(t, "testdata", "demo", "demo-image.tar")
	other := filepath.Join(t.TempDir(), "copy.tar")
	b, err := os.ReadFile(demo)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(other, b, 0o644))
	one := demoInputs(t)
	delete(one, "dockerfile")
	single := runAction(t, one)
	require.Equal(t, 1, single.code, single.log)

	in := demoInputs(t)
	delete(in, "dockerfile") // a Dockerfile is one image's
	in["image"] = demo + "\n" + other + "\n"
	r := runAction(t, in)
	assert.Equal(t, 1, r.code, r.log)
	assert.Equal(t, "fail", r.outputs["result"])
	for _, k := range []string{"critical", "high", "total"} {
		n, _ := strconv.Atoi(single.outputs[k])
		assert.Equal(t, strconv.Itoa(2*n), r.outputs[k], "%s: summed over the two images", k)
	}
	jsonFiles := strings.Split(r.outputs["json-file"], "\n")
	require.Len(t, jsonFiles, 2)
	assert.Equal(t, filepath.Join(r.dir, "imagegate-demo-image.tar.json"), jsonFiles[0])
	assert.Equal(t, filepath.Join(r.dir, "imagegate-copy.tar.json"), jsonFiles[1])
	for _, f := range jsonFiles {
		assert.FileExists(t, f)
	}
	sarif, err := os.ReadFile(r.outputs["sarif-file"])
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(sarif), `"automationDetails"`), "a SARIF run per image")
	assert.Contains(t, string(sarif), `"id": "imagegate/image/demo-image.tar/"`)
	assert.Contains(t, string(sarif), `"id": "imagegate/image/copy.tar/"`)
	assert.Contains(t, r.summary, "# imagegate: ❌ FAIL")
	assert.Contains(t, r.summary, "imagegate: 2 images, 2 failing the gate")
	assert.Equal(t, 2, strings.Count(r.summary, "## imagegate: ❌ FAIL"), "a section per image")
	counts := map[string]int{}
	for _, m := range annotation.FindAllStringSubmatch(r.log, -1) {
		counts[m[1]]++
	}
	assert.Equal(t, 10, counts["error"], "one budget for both images, the verdict's slot kept")
	assert.Regexp(t, `(?m)^::error title=imagegate gate failed::imagegate: \d+ findings at or above low \(demo-image\.tar: .*; copy\.tar: .*\)$`, r.log)
	assert.Regexp(t, `(?m)^::error title=`+regexp.QuoteMeta(demo)+`%3A `, r.log, "a finding's annotation names its image")
}
