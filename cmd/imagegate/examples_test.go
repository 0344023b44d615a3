package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/imagegate/imagegate/ci/inputs"
	"github.com/imagegate/imagegate/fleet"
)

// The Kubernetes example's containers run imagegate with arguments imagegate takes, and
// its shards are 1/4 to 4/4 from the Indexed Job's completion index.
func TestKubernetesExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "kubernetes", "registry-scan-job.yaml"))
	require.NoError(t, err)
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	type container struct {
		Name string
		Args []string
		Env  []struct{ Name, Value string }
	}
	var jobs int
	for {
		var doc struct {
			Kind string
			Spec struct {
				Completions int
				Template    struct {
					Spec struct {
						InitContainers []container `yaml:"initContainers"`
						Containers     []container
					}
				}
			}
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		require.Equal(t, "Job", doc.Kind)
		jobs++
		for _, c := range append(doc.Spec.Template.Spec.InitContainers, doc.Spec.Template.Spec.Containers...) {
			root := newRootCmd(os.Stdout, os.Stderr)
			cmd, rest, err := root.Find(c.Args)
			require.NoError(t, err, c.Name)
			require.NotEqual(t, root, cmd, "%s: %v is a command", c.Name, c.Args)
			require.NoError(t, cmd.ParseFlags(rest), "%s: imagegate takes %v", c.Name, c.Args)
			if shard, _ := cmd.Flags().GetString("shard"); shard == "auto" {
				env := map[string]string{}
				for _, e := range c.Env {
					env[e.Name] = e.Value
				}
				for i := 0; i < doc.Spec.Completions; i++ {
					env["JOB_COMPLETION_INDEX"] = string(rune('0' + i))
					sh, err := fleet.ParseShard("auto", func(k string) string { return env[k] })
					require.NoError(t, err)
					assert.Equal(t, fleet.Shard{Index: i + 1, Count: doc.Spec.Completions}, sh)
				}
			}
		}
	}
	assert.Equal(t, 2, jobs, "the scan and the merge")
}

// The README's CI sections are what CI runs: each holds, whole, the example file the
// end-to-end suite runs, and the inputs table names every input of both CI steps.
func TestReadmeCISectionsAreTheExamples(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	section := func(heading string) string {
		s := string(readme)
		i := strings.Index(s, "\n"+heading+"\n")
		require.GreaterOrEqual(t, i, 0, "the README has no %q section", heading)
		s = s[i+len(heading)+2:]
		if j := strings.Index(s, "\n## "); j >= 0 {
			s = s[:j]
		}
		return s
	}
	for heading, example := range map[string]string{
		"## GitHub Actions":  filepath.Join("examples", "github", "scan-after-build.yml"),
		"## Azure Pipelines": filepath.Join("examples", "azure", "azure-pipelines.yml"),
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", example))
		require.NoError(t, err)
		assert.Contains(t, section(heading), "```yaml\n"+string(b)+"```\n", "%s: its block is not %s as it is", heading, example)
	}
	inputsTable := section("## Azure Pipelines")
	for _, in := range inputs.Table {
		if !in.AzureOnly {
			assert.Contains(t, inputsTable, "| `"+in.Name+"` | `"+in.Azure+"` |", in.Name)
		} else {
			assert.Contains(t, inputsTable, "| — | `"+in.Azure+"` |", in.Azure)
		}
	}
}
