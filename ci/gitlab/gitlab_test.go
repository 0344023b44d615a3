package gitlab_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/ci/gitlab"
	"github.com/imagegate/imagegate/internal/imagetest"
)

// The same run on GitLab: inputs from IMAGEGATE_INPUT_*, the gate's exit code, findings in
// the log, and the outputs as a dotenv report.
func TestGitLabJob(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := imagetest.RepoRoot(t)
	dir := t.TempDir()
	env := map[string]string{
		"CI_PROJECT_DIR":                           dir,
		gitlab.InputVariable("image"):              filepath.Join(root, "testdata", "demo", "demo-image.tar"),
		gitlab.InputVariable("dockerfile"):         filepath.Join(root, "testdata", "demo", "Dockerfile"),
		gitlab.InputVariable("db-path"):            filepath.Join(root, "testdata", "osv"),
		gitlab.InputVariable("db-max-age"):         "876000h",
		gitlab.InputVariable("sarif-file"):         filepath.Join(dir, "imagegate.sarif"),
		gitlab.InputVariable("severity-threshold"): "high",
	}
	var out bytes.Buffer
	code := gitlab.Run(context.Background(), func(k string) string { return env[k] }, &out)
	assert.Equal(t, 1, code)
	log := out.String()
	assert.Contains(t, log, "section_start:")
	assert.Contains(t, log, "ERROR: ")
	assert.Regexp(t, `ERROR: imagegate gate failed: imagegate: \d+ findings at or above high`, log)
	dotenv, err := os.ReadFile(filepath.Join(dir, gitlab.DotenvFile))
	require.NoError(t, err)
	assert.Contains(t, string(dotenv), "IMAGEGATE_RESULT=fail\n")
	assert.Regexp(t, `(?m)^IMAGEGATE_CRITICAL=\d+$`, string(dotenv))
	assert.FileExists(t, filepath.Join(dir, "imagegate.sarif"))
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "section_") {
			continue // imagegate's own section markers
		}
		assert.NotContains(t, line, "\x1b", line)
	}
}
