package e2e

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/imagegate/imagegate/ci"
	"github.com/imagegate/imagegate/ci/azure"
	"github.com/imagegate/imagegate/report"
)

// vsix returns the extension to test: IMAGEGATE_E2E_VSIX (.ci/run builds the release's,
// for every platform), else one built here for this machine's platform.
func vsix(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("IMAGEGATE_E2E_VSIX"); p != "" {
		return p
	}
	r := run(t, repo(t), []string{"PLATFORMS=linux/amd64"}, 15*time.Minute, "bash", repo(t, "azure-task", "build-vsix.sh"), "9.8.7")
	require.Equal(t, 0, r.code, r.String())
	return repo(t, "dist", "imagegate.imagegate-9.8.7.vsix")
}

// unzip extracts the vsix as the agent does: a zip keeps no Unix modes.
func unzip(t *testing.T, path string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	dir := t.TempDir()
	for _, f := range zr.File {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		require.True(t, strings.HasPrefix(p, dir+string(filepath.Separator)), f.Name)
		if strings.HasSuffix(f.Name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		rc, err := f.Open()
		require.NoError(t, err)
		out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		require.NoError(t, err)
		_, err = io.Copy(out, rc)
		require.NoError(t, err)
		rc.Close()
		require.NoError(t, out.Close())
	}
	return dir
}

var vso = regexp.MustCompile(`(?m)^##vso\[([a-z.]+)((?: [^\]]*)?)\](.*)$`)

type command struct {
	name  string
	props map[string]string
	msg   string
}

func parseCommands(log string) []command {
	var out []command
	for _, m := range vso.FindAllStringSubmatch(log, -1) {
		c := command{name: m[1], props: map[string]string{}, msg: m[3]}
		for _, kv := range strings.Split(strings.TrimSpace(m[2]), ";") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				c.props[k] = v
			}
		}
		out = append(out, c)
	}
	return out
}

// The task as the agent runs it: the vsix unzipped, node running the shim with the inputs
// as INPUT_* (empty filePath inputs as the sources folder) and System.AccessToken, on the
// demo archive and on an image in the daemon, with data downloaded into the pipeline's
// cache folder. Every logging command is checked.
func TestAzureTaskFromTheVSIX(t *testing.T) {
	requireLinuxAMD64(t)
	ext := unzip(t, vsix(t))
	task := filepath.Join(ext, "task")
	bin := filepath.Join(task, "bin", "linux-amd64", "imagegate")
	if os.Getenv("IMAGEGATE_E2E_VSIX") != "" {
		// The release's extension carries a binary for every agent platform.
		for _, p := range []string{"linux-amd64/imagegate", "linux-arm64/imagegate", "darwin-amd64/imagegate", "darwin-arm64/imagegate", "windows-amd64/imagegate.exe", "windows-arm64/imagegate.exe"} {
			assert.FileExists(t, filepath.Join(task, "bin", filepath.FromSlash(p)))
		}
	}
	st, err := os.Stat(bin)
	require.NoError(t, err)
	require.Zero(t, st.Mode()&0o111, "unzipped without the execute bit, as on an agent")
	var manifest struct {
		Version struct{ Major, Minor, Patch int } `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(task, "task.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &manifest))
	assert.NotEqual(t, struct{ Major, Minor, Patch int }{0, 1, 0}, manifest.Version, "the task version is stamped from the release")

	source := newOSVSource(t)
	sources := t.TempDir() // Build.SourcesDirectory: the checkout
	copyDir(t, repo(t, "testdata", "e2e", "app"), sources)
	pipeline := t.TempDir()
	runTask := func(inputs map[string]string) (result, []command) {
		env := []string{
			"BUILD_SOURCESDIRECTORY=" + sources, "SYSTEM_DEFAULTWORKINGDIRECTORY=" + sources,
			"PIPELINE_WORKSPACE=" + pipeline, "AGENT_TEMPDIRECTORY=" + t.TempDir(),
			"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN=job-token",
			"BUILD_REPOSITORY_PROVIDER=GitHub", "SYSTEM_PULLREQUEST_PULLREQUESTID=7",
			"IMAGEGATE_DB_SOURCE=" + source.URL, "HOME=" + t.TempDir(),
		}
		for k, v := range inputs {
			env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
		}
		r := run(t, sources, env, 10*time.Minute, "node", filepath.Join(task, "index.js"))
		return r, parseCommands(r.stdout)
	}
	inputs := map[string]string{
		"dockerImageName":   repo(t, "testdata", "demo", "demo-image.tar"),
		"dockerfilePath":    "Dockerfile",
		"severityThreshold": "low",
		"failOnIssues":      "true",
		"monitorWhen":       "always",
		"prComment":         "true",
		// Left empty in the pipeline: the agent gives them as the sources folder.
		"ignoreFile": sources, "vexFile": sources, "dbPath": sources, "cacheDir": sources,
	}
	res, cmds := runTask(inputs)
	// The agent takes the result from task.complete, not from node's exit code.

	issues := map[string]int{}
	vars := map[string]string{}
	var completes, summaries, artifacts []command
	for _, c := range cmds {
		switch c.name {
		case "task.logissue", "task.issue":
			issues[c.props["type"]]++
		case "task.setvariable":
			vars[c.props["variable"]] = c.msg
			assert.Equal(t, "true", c.props["isOutput"])
		case "task.complete":
			completes = append(completes, c)
		case "task.uploadsummary":
			summaries = append(summaries, c)
		case "artifact.upload":
			artifacts = append(artifacts, c)
		}
	}
	assert.LessOrEqual(t, issues["error"], 10, "the agent keeps 10 errors, the verdict included")
	assert.LessOrEqual(t, issues["warning"], 10)
	assert.Regexp(t, `##vso\[task\.logissue type=error;\]imagegate: \d+ findings at or above low`, res.stdout)
	require.Len(t, completes, 1, "one result, the binary's")
	assert.Equal(t, "Failed", completes[0].props["result"])
	for _, name := range ci.OutputNames {
		assert.Contains(t, vars, azure.OutputName(name))
	}
	assert.Equal(t, "fail", vars["result"])
	require.Len(t, summaries, 1)
	md, err := os.ReadFile(summaries[0].msg)
	require.NoError(t, err)
	assert.Contains(t, string(md), "imagegate")
	var sarif bool
	for _, a := range artifacts {
		if a.props["artifactname"] == "CodeAnalysisLogs" {
			sarif = true
			doc, err := os.ReadFile(a.msg)
			require.NoError(t, err)
			var s struct {
				Version string `json:"version"`
				Runs    []any  `json:"runs"`
			}
			require.NoError(t, json.Unmarshal(doc, &s))
			assert.Equal(t, "2.1.0", s.Version)
			assert.NotEmpty(t, s.Runs)
		}
	}
	assert.True(t, sarif, "the SARIF file is the CodeAnalysisLogs artifact (the Scans tab)")
	assert.NotContains(t, res.stdout, "pull request comment", "a GitHub repository's pipeline has no Azure Repos threads")
	assert.NotContains(t, res.stdout, "is a directory", "empty filePath inputs are not read as files")
	assert.Contains(t, res.stdout, "Alpine: downloading all.zip", "the data came from the source")
	assert.DirExists(t, filepath.Join(pipeline, ".cache", "imagegate", "db"), "kept in $(Pipeline.Workspace) for Cache@2")
	st, err = os.Stat(bin)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&0o111, "the shim restored the execute bit")

	// The baseline input: the same image against the report it just wrote has nothing new,
	// and the gate passes on the backlog (with issues), saying so.
	earlier, err := os.ReadFile(vars[azure.OutputName("json-file")])
	require.NoError(t, err)
	baseline := filepath.Join(t.TempDir(), "main.json")
	require.NoError(t, os.WriteFile(baseline, earlier, 0o644))
	inputs["baseline"] = baseline
	res, cmds = runTask(inputs)
	result := ""
	for _, c := range cmds {
		if c.name == "task.complete" {
			result = c.props["result"]
		}
	}
	assert.Equal(t, "SucceededWithIssues", result, res.String())
	assert.Contains(t, res.stdout, "input baseline = "+baseline+" relaxes the gate")
	assert.Regexp(t, `against the baseline .*: 0 new, \d+ already there`, res.stdout)
	delete(inputs, "baseline")

	// The image by name, from the daemon, as a `docker build` step leaves it; a Snyk
	// pipeline's inputs, with only the task line changed.
	docker(t, "load", "-i", repo(t, "testdata", "demo", "demo-image.tar"))
	docker(t, "tag", "imagegate/demo:1", "imagegate-e2e/azure:42")
	inputs["dockerImageName"] = "imagegate-e2e/azure:42"
	inputs["testType"] = "container"
	inputs["serviceConnectionEndpoint"] = "snyk-connection"
	inputs["additionalArguments"] = "--severity-threshold=critical --exclude-base-image-vulns --json-file-output=" + filepath.Join(sources, "snyk.json")
	res, cmds = runTask(inputs)
	assert.Contains(t, res.stdout, "unchanged", "the cached data is reused")
	assert.Contains(t, res.stdout, "serviceConnectionEndpoint is SnykSecurityScan's")
	assert.Contains(t, res.stdout, "imagegate: notice: --severity-threshold in input additionalArguments = critical relaxes the gate")
	assert.Contains(t, res.stdout, "imagegate: notice: --exclude-base in input additionalArguments = true relaxes the gate")
	report, err := os.ReadFile(filepath.Join(sources, "snyk.json"))
	require.NoError(t, err, res.String())
	var doc struct {
		Image struct {
			Transport string `json:"transport"`
		} `json:"image"`
	}
	require.NoError(t, json.Unmarshal(report, &doc))
	assert.Equal(t, "docker-daemon", doc.Image.Transport)
	var last command
	for _, c := range cmds {
		if c.name == "task.complete" {
			last = c
		}
	}
	assert.NotEmpty(t, last.props["result"], res.String())
}

// pipelineStep is one step of an Azure Pipelines YAML file.
type pipelineStep struct {
	Script          string            `yaml:"script"`
	Task            string            `yaml:"task"`
	Name            string            `yaml:"name"`
	Inputs          map[string]string `yaml:"inputs"`
	Condition       string            `yaml:"condition"`
	ContinueOnError bool              `yaml:"continueOnError"`
}

// agent runs an example pipeline's steps as the agent would: script steps with bash in
// the sources folder, macros expanded, variables set by scripts and output variables of a
// named step kept for the later ones; the ImageGate task from the unzipped vsix with node.
// Cache@2 stands for the pipeline workspace that persists between runs; Publish- and
// DownloadPipelineArtifact keep artifacts by name in a store of the test's, as the
// service keeps the default branch's. Conditions: always(), and eq or ne of a variable
// (in and(succeeded(), …) or alone).
type agent struct {
	t         *testing.T
	task      string
	steps     []pipelineStep
	variables map[string]string
	sources   string
	workspace string
	artifacts string
	source    *osvSource
}

func newAgent(t *testing.T, example string) *agent {
	t.Helper()
	requireLinuxAMD64(t)
	loadAlpineBase(t)
	b, err := os.ReadFile(repo(t, "examples", "azure", example))
	require.NoError(t, err)
	var pipeline struct {
		Variables map[string]string `yaml:"variables"`
		Steps     []pipelineStep    `yaml:"steps"`
	}
	require.NoError(t, yaml.Unmarshal(b, &pipeline))
	a := &agent{t: t, task: filepath.Join(unzip(t, vsix(t)), "task"), steps: pipeline.Steps, variables: pipeline.Variables,
		sources: t.TempDir(), workspace: t.TempDir(), artifacts: t.TempDir(), source: newOSVSource(t)}
	copyDir(t, repo(t, "testdata", "e2e", "app"), a.sources)
	return a
}

var condition = regexp.MustCompile(`^(and\(succeeded\(\), )?(eq|ne)\(variables\['([A-Za-z.]+)'\], '([^']*)'\)\)?$`)

// run runs the pipeline for a build reason (IndividualCI, PullRequest) and returns its
// log and the ImageGate task's result.
func (a *agent) run(reason string) (string, string) {
	t := a.t
	vars := map[string]string{
		"Build.BuildId": "42", "Agent.OS": "Linux", "Pipeline.Workspace": a.workspace, "Build.Reason": reason,
		"Build.SourcesDirectory": a.sources, "System.DefaultWorkingDirectory": a.sources,
		"Build.ArtifactStagingDirectory": t.TempDir(), "System.TeamProjectId": "project", "System.DefinitionId": "7",
	}
	for k, v := range a.variables {
		vars[k] = v
	}
	macro := regexp.MustCompile(`\$\(([A-Za-z0-9_.]+)\)`)
	expand := func(s string) string {
		return macro.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := vars[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		})
	}
	env := []string{
		"BUILD_SOURCESDIRECTORY=" + a.sources, "SYSTEM_DEFAULTWORKINGDIRECTORY=" + a.sources,
		"PIPELINE_WORKSPACE=" + a.workspace, "AGENT_TEMPDIRECTORY=" + t.TempDir(),
		"BUILD_BUILDID=42", "BUILD_REPOSITORY_PROVIDER=TfsGit", "BUILD_REASON=" + reason,
		"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN=job-token",
		"IMAGEGATE_DB_SOURCE=" + a.source.URL, "HOME=" + t.TempDir(),
	}
	var log strings.Builder
	failed := false
	result := ""
	for _, s := range a.steps {
		switch m := condition.FindStringSubmatch(s.Condition); {
		case s.Condition == "always()":
		case m != nil: // a condition of its own runs after a failure unless it says succeeded()
			if (vars[m[3]] == m[4]) != (m[2] == "eq") || failed && m[1] != "" {
				continue
			}
		case s.Condition != "":
			t.Fatalf("step %+v: a condition this test cannot evaluate", s)
		case failed:
			continue
		}
		switch {
		case s.Script != "":
			r := run(t, a.sources, env, 5*time.Minute, "bash", "-e", "-c", expand(s.Script))
			log.WriteString(r.stdout + r.stderr)
			require.Equal(t, 0, r.code, r.String())
			for _, c := range parseCommands(r.stdout) {
				if c.name == "task.setvariable" {
					vars[c.props["variable"]] = c.msg
				}
			}
		case s.Task == "Cache@2":
			// The workspace persists between the runs, as a restored cache would; the
			// key changes once a day.
			assert.Equal(t, filepath.Join(a.workspace, ".cache", "imagegate"), expand(s.Inputs["path"]))
			assert.Equal(t, `imagegate-db | "Linux" | "`+time.Now().UTC().Format("2006-01-02")+`"`, expand(s.Inputs["key"]))
		case s.Task == "PublishPipelineArtifact@1":
			dst := filepath.Join(a.artifacts, s.Inputs["artifact"])
			require.NoError(t, os.RemoveAll(dst))
			copyDir(t, expand(s.Inputs["targetPath"]), dst)
			log.WriteString("published artifact " + s.Inputs["artifact"] + "\n")
		case s.Task == "DownloadPipelineArtifact@2":
			assert.Equal(t, "latestFromBranch", s.Inputs["buildVersionToDownload"])
			assert.Equal(t, "refs/heads/main", s.Inputs["branchName"])
			src := filepath.Join(a.artifacts, s.Inputs["artifactName"])
			if _, err := os.Stat(src); err != nil {
				log.WriteString("##[error]Artifact " + s.Inputs["artifactName"] + " was not found\n")
				failed = !s.ContinueOnError
				continue
			}
			copyDir(t, src, expand(s.Inputs["targetPath"]))
			log.WriteString("downloaded artifact " + s.Inputs["artifactName"] + "\n")
		case s.Task == "ImageGate@0":
			var res string
			res = a.imagegate(s, env, expand, vars, &log)
			result = res
			failed = res == "Failed"
		default:
			t.Fatalf("step %+v: not a step this test knows how to run", s)
		}
	}
	return log.String(), result
}

// imagegate runs the task from the vsix: inputs not given in the YAML arrive with
// task.json's defaults, and a filePath input left empty arrives as the sources folder.
func (a *agent) imagegate(s pipelineStep, env []string, expand func(string) string, vars map[string]string, log *strings.Builder) string {
	t := a.t
	taskEnv := append([]string{}, env...)
	var manifest struct {
		Inputs []struct{ Name, Type, DefaultValue string } `json:"inputs"`
	}
	mb, err := os.ReadFile(filepath.Join(a.task, "task.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(mb, &manifest))
	for _, in := range manifest.Inputs {
		v, ok := s.Inputs[in.Name]
		if !ok {
			v = in.DefaultValue
		}
		if v = expand(v); v == "" && in.Type == "filePath" {
			v = a.sources
		}
		taskEnv = append(taskEnv, "INPUT_"+strings.ToUpper(in.Name)+"="+v)
	}
	r := run(t, a.sources, taskEnv, 10*time.Minute, "node", filepath.Join(a.task, "index.js"))
	log.WriteString(r.stdout + r.stderr)
	result := ""
	for _, c := range parseCommands(r.stdout) {
		switch c.name {
		case "task.setvariable":
			vars[s.Name+"."+c.props["variable"]] = c.msg
		case "task.complete":
			result = c.props["result"]
		}
	}
	return result
}

// The README's pipeline, examples/azure/azure-pipelines.yml, run step by step as the agent
// would.
func TestAzureExamplePipeline(t *testing.T) {
	a := newAgent(t, "azure-pipelines.yml")
	sources := a.sources
	runPipeline := func() (string, string) { return a.run("IndividualCI") }

	log, result := runPipeline()
	assert.Equal(t, "Failed", result, "minimist's critical advisory fails the gate at high")
	assert.Contains(t, log, "Successfully tagged app:42")
	assert.Regexp(t, `imagegate result=fail critical=[1-9]\d* high=\d+ total=[1-9]`, log, "the later step read the outputs")
	assert.Regexp(t, `##vso\[artifact\.upload artifactname=CodeAnalysisLogs;containerfolder=CodeAnalysisLogs;\]`+regexp.QuoteMeta(sources), log)
	assert.Contains(t, log, "Alpine: downloading all.zip")

	log, _ = runPipeline()
	assert.Contains(t, log, "unchanged", "the second run reuses the cached data")
	assert.NotContains(t, log, "downloading all.zip")
}

// examples/azure/several-images-baseline.yml: two images in one task step, with the default
// branch's reports as the baseline of pull requests. The default branch's run passes and
// publishes its reports; a pull request that changes nothing passes on the backlog; one
// that adds a vulnerable package to the API fails on exactly its findings.
func TestAzureSeveralImagesAndBaseline(t *testing.T) {
	a := newAgent(t, "several-images-baseline.yml")
	log, result := a.run("IndividualCI")
	assert.Equal(t, "SucceededWithIssues", result, "the default branch reports without failing: %s", log)
	assert.Contains(t, log, "Successfully tagged api:ci")
	assert.Contains(t, log, "Successfully tagged worker:ci")
	assert.Contains(t, log, "imagegate: 2 images,")
	assert.Regexp(t, `imagegate result=pass critical=[1-9]\d* high=\d+ total=[1-9]`, log)
	assert.Contains(t, log, "published artifact imagegate-baseline")
	assert.FileExists(t, filepath.Join(a.artifacts, "imagegate-baseline", "imagegate-api-ci.json"))
	assert.FileExists(t, filepath.Join(a.artifacts, "imagegate-baseline", "imagegate-worker-ci.json"))
	assert.Regexp(t, `##vso\[artifact\.upload artifactname=CodeAnalysisLogs;containerfolder=CodeAnalysisLogs;\]`+regexp.QuoteMeta(a.sources), log)

	log, result = a.run("PullRequest")
	assert.Equal(t, "SucceededWithIssues", result, "nothing new: %s", log)
	assert.Contains(t, log, "downloaded artifact imagegate-baseline")
	assert.Regexp(t, `api:ci: checks run: [^;]+; unknown severity: fail, \d+ let through; against the baseline [^:]+imagegate-api-ci\.json: 0 new`, log)
	assert.Regexp(t, `worker:ci: checks run: [^;]+; unknown severity: fail, \d+ let through; against the baseline [^:]+imagegate-worker-ci\.json: 0 new`, log)

	// lodash 4.17.20 has a high advisory: it gates at high.
	lodash := filepath.Join(a.sources, "node_modules", "lodash")
	require.NoError(t, os.MkdirAll(lodash, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(lodash, "package.json"), []byte(`{"name":"lodash","version":"4.17.20"}`), 0o644))
	log, result = a.run("PullRequest")
	assert.Equal(t, "Failed", result, "lodash's findings are new: %s", log)
	assert.Regexp(t, `api:ci: [^)]*imagegate-api-ci\.json: [1-9]\d* new`, log)
	assert.Regexp(t, `worker:ci: [^)]*imagegate-worker-ci\.json: 0 new`, log)
	var rep report.Result
	b, err := os.ReadFile(filepath.Join(a.sources, "imagegate-api-ci.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	newOnes := 0
	for _, f := range rep.Findings {
		if f.Baseline == report.BaselineNew {
			newOnes++
			require.NotNil(t, f.Package, f.ID)
			assert.Equal(t, "lodash", f.Package.Name, "only lodash's findings are new: %s", f.ID)
		}
	}
	assert.Positive(t, newOnes)
}
