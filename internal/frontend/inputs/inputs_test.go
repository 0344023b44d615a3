package inputs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/imagegate/imagegate/internal/frontend/inputs"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/schematest"
	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/finding"
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
	for _, o := range []string{"sarif-file", "result", "critical", "high", "medium", "low", "total", "json-file"} {
		assert.Contains(t, a.Outputs, o)
	}
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
	st, err := inputs.Parse(get(map[string]string{"image": "alpine:3.20", "severity-threshold": "HIGH", "fail-on-issues": "False", "registry-password": "s3cret"}))
	require.NoError(t, err)
	assert.Equal(t, "alpine:3.20", st.Scan.Image)
	assert.Equal(t, finding.High, st.Scan.Policy.Threshold)
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
		_, err := inputs.Parse(get(*values))
		require.Error(t, err)
		assert.Equal(t, failure.ExitInput, failure.Code(err))
		assert.Contains(t, err.Error(), msg)
	}
}

type taskJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Inputs []struct {
		Name         string `json:"name"`
		Type         string `json:"type"`
		DefaultValue string `json:"defaultValue"`
		Required     bool   `json:"required"`
		HelpMarkDown string `json:"helpMarkDown"`
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
	assert.Len(t, task.Inputs, len(want))
	for _, got := range task.Inputs {
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
	}
	for _, o := range []string{"sarifFile", "jsonFile", "result", "critical", "high", "medium", "low", "total"} {
		found := false
		for _, v := range task.OutputVariables {
			found = found || v.Name == o
		}
		assert.True(t, found, o)
	}
	assert.Equal(t, "index.js", task.Execution["Node20_1"].Target)
	// Snyk's input names, for people moving from SnykSecurityScan@1.
	for _, snyk := range []string{"dockerImageName", "dockerfilePath", "severityThreshold", "failOnIssues", "monitorWhen"} {
		assert.Contains(t, want, snyk)
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
