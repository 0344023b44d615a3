package ci_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/ci/azure"
	"github.com/imagegate/imagegate/ci/github"
	"github.com/imagegate/imagegate/ci/gitlab"
	"github.com/imagegate/imagegate/internal/imagetest"
)

// A pull request can commit a symbolic link where a report or the host's own file goes:
// every host refuses it before any work (exit 2, naming it), and the file the link points
// at is unchanged. The checkout is the working folder, as on a runner.
func TestHostsNeverWriteThroughPlantedLinks(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := imagetest.RepoRoot(t)
	demo := filepath.Join(root, "testdata", "demo", "demo-image.tar")
	db := filepath.Join(root, "testdata", "osv")
	hosts := []struct {
		name string
		run  func(checkout, sarif string, out io.Writer) int
		own  string // a file the host itself writes in the checkout
	}{
		{"github", func(checkout, sarif string, out io.Writer) int {
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": checkout,
				"GITHUB_OUTPUT": filepath.Join(t.TempDir(), "output"), "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "summary"),
				"INPUT_IMAGE": demo, "INPUT_DB-PATH": db, "INPUT_DB-MAX-AGE": "876000h", "INPUT_SARIF-FILE": sarif}
			return github.Run(context.Background(), func(k string) string { return env[k] }, out)
		}, ""},
		{"azure", func(checkout, sarif string, out io.Writer) int {
			env := map[string]string{"TF_BUILD": "True", "BUILD_SOURCESDIRECTORY": checkout,
				azure.InputPrefix + "dockerImageName": demo, azure.InputPrefix + "dbPath": db, azure.InputPrefix + "dbMaxAge": "876000h", azure.InputPrefix + "sarifFile": sarif}
			return azure.Run(context.Background(), func(k string) string { return env[k] }, out)
		}, ""},
		{"gitlab", func(checkout, sarif string, out io.Writer) int {
			env := map[string]string{"CI_PROJECT_DIR": checkout,
				gitlab.InputVariable("image"): demo, gitlab.InputVariable("db-path"): db, gitlab.InputVariable("db-max-age"): "876000h", gitlab.InputVariable("sarif-file"): sarif}
			return gitlab.Run(context.Background(), func(k string) string { return env[k] }, out)
		}, gitlab.DotenvFile},
	}
	for _, h := range hosts {
		plants := []struct{ name, link, sarif string }{
			{"report", "imagegate.sarif", "imagegate.sarif"},
			{"report's folder", "reports", "reports/imagegate.sarif"},
		}
		if h.own != "" {
			plants = append(plants, struct{ name, link, sarif string }{"host's own file", h.own, "imagegate.sarif"})
		}
		for _, p := range plants {
			t.Run(h.name+"/"+p.name, func(t *testing.T) {
				outside := t.TempDir()
				victim := filepath.Join(outside, "victim")
				require.NoError(t, os.WriteFile(victim, []byte("precious"), 0o644))
				target := victim
				if p.link == "reports" {
					target = outside
				}
				checkout := t.TempDir()
				t.Chdir(checkout)
				require.NoError(t, os.Symlink(target, filepath.Join(checkout, p.link)))
				var out bytes.Buffer
				code := h.run(checkout, p.sarif, &out)
				assert.Equal(t, 2, code, out.String())
				assert.Contains(t, out.String(), "symbolic link")
				assert.Contains(t, out.String(), p.link)
				got, err := os.ReadFile(victim)
				require.NoError(t, err)
				assert.Equal(t, "precious", string(got))
				entries, err := os.ReadDir(outside)
				require.NoError(t, err)
				assert.Len(t, entries, 1, "nothing written outside the checkout")
			})
		}
	}
}
