package inputs_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/imagegate/imagegate/ci"
	"github.com/imagegate/imagegate/ci/azure"
	"github.com/imagegate/imagegate/ci/inputs"
	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/golden"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/schematest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
)

type actionYAML struct {
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]any `yaml:"outputs"`
	Runs    struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

// action.yml and the input table must agree: names, descriptions, defaults, required.
func TestActionYAMLMatchesTheTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(imagetest.RepoRoot(t), "action.yml"))
	require.NoError(t, err)
	var a actionYAML
	require.NoError(t, yaml.Unmarshal(b, &a))
	want := map[string]inputs.Input{}
	for _, in := range inputs.Table {
		if !in.AzureOnly {
			want[in.Name] = in
		}
	}
	assert.Len(t, a.Inputs, len(want))
	for name, in := range want {
		got, ok := a.Inputs[name]
		if !assert.True(t, ok, "action.yml lacks input %s", name) {
			continue
		}
		assert.Equal(t, in.Description, got.Description, name)
		assert.Equal(t, in.Required, got.Required, name)
		def := ""
		if got.Default != nil {
			def = *got.Default
		}
		assert.Equal(t, in.Default, def, name)
	}
	for _, o := range ci.OutputNames {
		assert.Contains(t, a.Outputs, o)
	}
	assert.Len(t, a.Outputs, len(ci.OutputNames))
	assert.Equal(t, "docker", a.Runs.Using)
	assert.Equal(t, "Dockerfile", a.Runs.Image)
}

func TestActionYAMLValidatesAgainstSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(imagetest.RepoRoot(t), "action.yml"))
	require.NoError(t, err)
	var doc any
	require.NoError(t, yaml.Unmarshal(b, &doc))
	s := schematest.Compile(t, "github-action.json")
	assert.NoError(t, s.Validate(doc))
	// The schema does catch a broken action.
	bad := map[string]any{"name": "x", "runs": map[string]any{"using": "docker"}}
	assert.Error(t, s.Validate(bad))
}

func get(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParse(t *testing.T) {
	st, err := inputs.Parse(get(map[string]string{"image": "alpine:3.20", "severity-threshold": "HIGH", "fail-on-issues": "False", "registry-password": "s3cret"}), nil)
	require.NoError(t, err)
	assert.Equal(t, "alpine:3.20", st.Scan.Image)
	assert.Equal(t, report.High, st.Scan.Policy.Threshold)
	assert.False(t, st.Scan.Policy.FailOnIssues)
	assert.Equal(t, "imagegate.sarif", st.SARIFFile)
	assert.True(t, st.Summary)
	assert.Equal(t, []string{"s3cret"}, st.Secrets)

	for values, msg := range map[*map[string]string]string{
		{"severity-threshold": "low"}:                     "input image is required",
		{"image": "a", "severity-threshold": "severe"}:    "input severity-threshold",
		{"image": "a", "fail-on-issues": "maybe"}:         "input fail-on-issues",
		{"image": "a", "db-max-age": "a week"}:            "input db-max-age",
		{"image": "a", "format": "pdf"}:                   "input format",
		{"image": "a", "monitor-when": "sometimes"}:       "input monitor-when",
		{"image": "a", "ignore-file": "/nonexistent.yml"}: "nonexistent.yml",
	} {
		_, err := inputs.Parse(get(*values), nil)
		require.Error(t, err)
		assert.Equal(t, failure.ExitInput, failure.Code(err))
		assert.Contains(t, err.Error(), msg)
	}
}

type taskJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Inputs []struct {
		Name         string          `json:"name"`
		Type         string          `json:"type"`
		DefaultValue string          `json:"defaultValue"`
		Required     bool            `json:"required"`
		HelpMarkDown string          `json:"helpMarkDown"`
		Options      json.RawMessage `json:"options"`
	} `json:"inputs"`
	OutputVariables []struct {
		Name string `json:"name"`
	} `json:"outputVariables"`
	Execution map[string]struct {
		Target string `json:"target"`
	} `json:"execution"`
}

// task.json and the input table must agree too.
func TestTaskJSONMatchesTheTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(imagetest.RepoRoot(t), "task.json"))
	require.NoError(t, err)
	var task taskJSON
	require.NoError(t, json.Unmarshal(b, &task))
	assert.Equal(t, "ImageGate", task.Name)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, task.ID)
	want := map[string]inputs.Input{}
	for _, in := range inputs.Table {
		if !in.GitHubOnly {
			want[in.Azure] = in
		}
	}
	snyk := 0
	for _, got := range task.Inputs {
		if slices.Contains(azure.SnykInputs, got.Name) {
			snyk++
			assert.Equal(t, "string", got.Type, got.Name)
			assert.False(t, got.Required, got.Name)
			continue
		}
		in, ok := want[got.Name]
		if !assert.True(t, ok, "task.json input %s is not in the table", got.Name) {
			continue
		}
		assert.Equal(t, in.Description, got.HelpMarkDown, got.Name)
		assert.Equal(t, in.Default, got.DefaultValue, got.Name)
		assert.Equal(t, in.Required, got.Required, got.Name)
		if in.Kind == inputs.Bool {
			assert.Equal(t, "boolean", got.Type, got.Name)
		}
		// A filePath input arrives as the sources folder when left empty; the host reads
		// that as "not given" only for the table's Path inputs.
		if got.Type == "filePath" {
			assert.Equal(t, inputs.Path, in.Kind, got.Name)
		}
		// The format pick list is the reporters' list, in its order: a new format is
		// selectable in the task.
		if got.Name == "format" {
			assert.Equal(t, "pickList", got.Type)
			assert.Equal(t, output.Formats(), objectKeys(t, got.Options), "task.json's format options")
		}
	}
	assert.Len(t, task.Inputs, len(want)+snyk)
	assert.Equal(t, len(azure.SnykInputs), snyk)
	for _, name := range ci.OutputNames {
		o := azure.OutputName(name)
		found := false
		for _, v := range task.OutputVariables {
			found = found || v.Name == o
		}
		assert.True(t, found, o)
	}
	assert.Equal(t, "index.js", task.Execution["Node20_1"].Target)
	// Snyk's input names, for people moving from SnykSecurityScan@1, with Snyk's types.
	for _, snyk := range []string{"dockerImageName", "dockerfilePath", "severityThreshold", "failOnIssues", "monitorWhen", "additionalArguments"} {
		assert.Contains(t, want, snyk)
	}
	for _, got := range task.Inputs {
		if got.Name == "dockerfilePath" || got.Name == "dockerImageName" {
			assert.Equal(t, "string", got.Type, got.Name)
		}
	}
}

func TestTaskAndExtensionValidateAgainstSchemas(t *testing.T) {
	root := imagetest.RepoRoot(t)
	for file, schema := range map[string]string{"task.json": "azure-pipelines-task.schema.json", "azure-task/vss-extension.json": "vss-extension.json"} {
		b, err := os.ReadFile(filepath.Join(root, file))
		require.NoError(t, err)
		assert.NoError(t, schematest.Validate(t, schematest.Compile(t, schema), b), file)
	}
	// The task schema does reject a broken task.
	assert.Error(t, schematest.Validate(t, schematest.Compile(t, "azure-pipelines-task.schema.json"), []byte(`{"id": "x", "inputs": [{"name": "bad name"}]}`)))
}

// Finding paths become checkout-relative for the CI system; paths outside stay as given.
func TestRelativeTo(t *testing.T) {
	root := t.TempDir()
	assert.Equal(t, "build/Dockerfile", inputs.RelativeTo(filepath.Join(root, "build", "Dockerfile"), root))
	assert.Equal(t, "..hidden/Dockerfile", inputs.RelativeTo(filepath.Join(root, "..hidden", "Dockerfile"), root))
	outside := filepath.Join(filepath.Dir(root), "elsewhere", "Dockerfile")
	assert.Equal(t, filepath.ToSlash(outside), inputs.RelativeTo(outside, root))
	t.Chdir(root)
	assert.Equal(t, "Dockerfile", inputs.RelativeTo("Dockerfile", ""))
}

// additional-arguments takes every scan flag, with shell quoting, over the inputs, and
// Snyk's common flags for pipelines moving from SnykSecurityScan.
func TestAdditionalArguments(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "my Dockerfile")
	require.NoError(t, os.WriteFile(df, []byte("FROM scratch\n"), 0o644))
	st, err := inputs.Parse(get(map[string]string{
		"image":                "app:ci",
		"severity-threshold":   "low",
		"additional-arguments": `--scanners vuln,config --base-image 'alpine:3.20' --file="` + df + `" --severity-threshold=high --exclude-base-image-vulns --sarif-file-output=out/s.sarif --json-file-output=out/r.json --image-source registry -o junit=` + filepath.Join(dir, "j.xml") + ` --report-all`,
	}), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"vuln", "config"}, st.Scan.Checks)
	assert.Equal(t, "alpine:3.20", st.Scan.Base.Image)
	assert.Equal(t, df, st.Scan.Dockerfile.Path)
	assert.Equal(t, report.High, st.Scan.Policy.Threshold, "the argument wins over the input")
	assert.True(t, st.Scan.Base.Exclude)
	assert.True(t, st.Scan.Policy.ReportAll)
	assert.Equal(t, "out/s.sarif", st.SARIFFile)
	assert.Equal(t, "out/r.json", st.JSONFile)
	assert.Equal(t, []string{"registry"}, st.Scan.Registry.Sources)
	require.Len(t, st.Outputs, 1)
	assert.Equal(t, "junit", st.Outputs[0].Format)

	for args, msg := range map[string]string{
		"--bogus":             "unknown flag: --bogus",
		"--scanners":          "flag needs an argument",
		"'unterminated":       "input additional-arguments",
		"other-image":         `unexpected "other-image"`,
		"--image-source=tape": `image source "tape"`,
	} {
		_, err := inputs.Parse(get(map[string]string{"image": "a", "additional-arguments": args}), nil)
		require.Error(t, err, args)
		assert.Equal(t, failure.ExitInput, failure.Code(err), args)
		assert.Contains(t, err.Error(), msg, args)
	}
	// The input names in messages are the CI's own.
	_, err = inputs.Parse(get(map[string]string{"image": "a", "additional-arguments": "--bogus"}), func(n string) string { return "X" + n })
	assert.Contains(t, err.Error(), "input Xadditional-arguments")
}

// additional-arguments takes words: shell syntax that would run or redirect something is
// an input error naming the construct, never a crash; $NAME stays as written.
func TestAdditionalArgumentsRefuseShellSyntax(t *testing.T) {
	for args, msg := range map[string]string{
		"<(id)":                    "process substitution",
		"--vex <(id)":              "process substitution",
		"--vex $(id)":              "command substitution",
		"--vex `id`":               "command substitution",
		"--vex $((1+2))":           "arithmetic expansion",
		"--report-all | tee x":     "'|' between commands",
		"--report-all && rm -rf /": "'&&' between commands",
		"--report-all > /tmp/out":  "redirection (>)",
		"--report-all; id":         "more than one command",
		"--report-all &":           "'&'",
		"A=1 --report-all":         "variable assignment",
		"--vex ${HOME:-/tmp}":      "parameter expansion with operators",
		"( --report-all )":         "subshell",
		"--vex {a,b}":              "brace expansion",
	} {
		_, err := inputs.Parse(get(map[string]string{"image": "a", "additional-arguments": args}), nil)
		require.Error(t, err, args)
		assert.Equal(t, failure.ExitInput, failure.Code(err), args)
		assert.Contains(t, err.Error(), msg, args)
		assert.Contains(t, err.Error(), "input additional-arguments", args)
	}
	st, err := inputs.Parse(get(map[string]string{"image": "a", "additional-arguments": `--sarif-category "$GITHUB_JOB x" --platform=linux/arm64`}), nil)
	require.NoError(t, err)
	assert.Equal(t, "$GITHUB_JOB x", st.SARIFCategory)
}

// Every input that relaxes the gate is said, with the input that set it.
func TestRelaxationsAreSaid(t *testing.T) {
	st, err := inputs.Parse(get(map[string]string{"image": "a", "severity-threshold": "critical",
		"additional-arguments": "--fail-on-issues=false --allow-incomplete --unknown-severity pass"}), func(n string) string { return "X" + n })
	require.NoError(t, err)
	got := strings.Join(st.Relaxed, "\n")
	assert.Contains(t, got, "input Xseverity-threshold = critical relaxes the gate: findings below critical do not fail the gate")
	assert.Contains(t, got, "--fail-on-issues in input Xadditional-arguments = false relaxes the gate")
	assert.Contains(t, got, "--allow-incomplete in input Xadditional-arguments = true relaxes the gate")
	assert.Contains(t, got, "--unknown-severity in input Xadditional-arguments = pass relaxes the gate")
	assert.Len(t, st.Relaxed, 4)

	st, err = inputs.Parse(get(map[string]string{"image": "a", "severity-threshold": "low", "fail-on-issues": "true"}), nil)
	require.NoError(t, err)
	assert.Empty(t, st.Relaxed, "the defaults relax nothing")

	dir := t.TempDir()
	var paths []string
	for _, n := range []string{"api.json", "worker.json"} {
		p := filepath.Join(dir, n)
		require.NoError(t, os.WriteFile(p, []byte(`{"schemaVersion":"1.0","image":{"name":"`+n+`"},"findings":[]}`), 0o644))
		paths = append(paths, p)
	}
	st, err = inputs.Parse(get(map[string]string{"image": "a\nb", "baseline": strings.Join(paths, ",")}), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"input baseline = " + strings.Join(paths, ",") + " relaxes the gate: findings already in that report do not fail the gate"}, st.Relaxed, "the files as given, not as a Go slice prints")
}

// objectKeys are a JSON object's keys in their order.
func objectKeys(t *testing.T, raw json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var keys []string
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var v any
		require.NoError(t, dec.Decode(&v))
	}
	return keys
}

// action.yml and task.json say what the table says: each input's description and default,
// and the format pick list's options (the reporters' list, with their labels). With
// -update the test writes them from the table (review the diff); without, it fails where
// they differ.
func TestCIFilesFollowTheTable(t *testing.T) {
	root := imagetest.RepoRoot(t)
	action, err := os.ReadFile(filepath.Join(root, "action.yml"))
	require.NoError(t, err)
	task, err := os.ReadFile(filepath.Join(root, "task.json"))
	require.NoError(t, err)
	// The inputs section only: outputs share some names (sarif-file).
	a, outputs, ok := strings.Cut(string(action), "\noutputs:")
	require.True(t, ok, "action.yml has an outputs section")
	tk := string(task)
	quote := func(s string) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return strings.TrimSuffix(b.String(), "\n")
	}
	for _, in := range inputs.Table {
		if !in.AzureOnly {
			block := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(in.Name) + `:\n    description: .*$`)
			require.Regexp(t, block, a, "action.yml has no block for %s", in.Name)
			a = block.ReplaceAllLiteralString(a, "  "+in.Name+":\n    description: "+quote(in.Description))
		}
		if !in.GitHubOnly {
			help := regexp.MustCompile(`("name": ` + regexp.QuoteMeta(quote(in.Azure)) + `,(?:\n[^\n]*?)*?\n\s*"helpMarkDown": ).*?(,?)\n`)
			require.Regexp(t, help, tk, "task.json has no helpMarkDown for %s", in.Azure)
			tk = help.ReplaceAllString(tk, "${1}"+strings.ReplaceAll(quote(in.Description), "$", "$$")+"${2}\n")
		}
	}
	var opts []string
	for _, f := range output.Formats() {
		opts = append(opts, "        "+quote(f)+": "+quote(output.FormatLabel(f)))
	}
	pick := regexp.MustCompile(`("name": "format",(?:\n[^\n]*?)*?\n\s*"options": \{\n)(?:[^}]*\n)(\s*\})`)
	require.Regexp(t, pick, tk)
	tk = pick.ReplaceAllString(tk, "${1}"+strings.Join(opts, ",\n")+"\n${2}")
	golden.Check(t, "action.yml", []byte(a+"\noutputs:"+outputs))
	golden.Check(t, "task.json", []byte(tk))
}
