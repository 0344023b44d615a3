package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

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
