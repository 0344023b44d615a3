package ci_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/ci/azure"
	"github.com/imagegate/imagegate/ci/github"
	"github.com/imagegate/imagegate/internal/imagetest"
)

// hostileImage is an image from a pull request that tries to speak in the CI log: its
// config's os field, its os-release and a package name carry workflow commands, logging
// commands, HTML that would hide the verdict, and terminal escapes.
func hostileImage(t *testing.T) string {
	t.Helper()
	forged := "\n::stop-commands::pwned\n::error::forged\n##vso[task.setvariable variable=result]pass\n##vso[task.complete result=Succeeded;]forged\n"
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{CreatedBy: "ADD rootfs /" + forged, Layer: imagetest.Layer(t,
		imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\nPRETTY_NAME=\"<h2>✅ PASS - 0 findings</h2><!--\"\n")),
		imagetest.File("lib/apk/db/installed", []byte("P:musl\x1b[2J"+forged+"\nV:1.2.5-r0\nA:x86_64\no:musl\n\n")),
		imagetest.File("app/node_modules/minimist/package.json", []byte(`{"name": "minimist", "version": "1.2.5"}`)),
	)})
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS = "linux" + forged
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	return imagetest.DockerArchive(t, img, "pr:1")
}

// Everything the image says is data in both CI logs: the only workflow or logging
// commands are imagegate's own, the verdict is the real one, and the summary cannot be
// hidden.
func TestUntrustedImageNeverSpeaksInCI(t *testing.T) {
	archive := hostileImage(t)
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())

	t.Run("GitHub", func(t *testing.T) {
		dir := t.TempDir()
		env := map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": dir,
			"GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
			"INPUT_IMAGE": archive, "INPUT_DB-PATH": db, "INPUT_SARIF-FILE": filepath.Join(dir, "r.sarif"),
			"INPUT_DB-MAX-AGE": "876000h", "INPUT_ALLOW-INCOMPLETE": "true", "INPUT_FORMAT": "table",
		}
		var out bytes.Buffer
		code := github.Run(context.Background(), func(k string) string { return env[k] }, &out)
		assert.Equal(t, 1, code, out.String())
		// Outside imagegate's own ::stop-commands:: sections, every command is its own.
		log := out.String()
		stopped := ""
		for _, line := range strings.Split(log, "\n") {
			if stopped != "" {
				if line == "::"+stopped+"::" {
					stopped = ""
				}
				continue
			}
			if m := regexp.MustCompile(`^::stop-commands::(imagegate-[0-9a-f]{32})$`).FindStringSubmatch(line); m != nil {
				stopped = m[1]
				continue
			}
			if strings.HasPrefix(line, "::") {
				assert.Regexp(t, `^::(group|endgroup|add-mask|error|warning|notice)( [^:]*)?::`, line)
				assert.NotContains(t, line, "::forged")
				assert.NotContains(t, line, "pwned")
			}
		}
		assert.Empty(t, stopped, "every stopped section ends")
		assert.Contains(t, log, `linux\n::stop-commands::pwned`, "the image's text is in the log, shown as data")
		assert.Regexp(t, `(?m)^::error title=imagegate gate failed::imagegate: \d+ findings`, log)
		assert.NotContains(t, log, "\x1b", "terminal escapes are shown, not sent")
		summary, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(summary), "## imagegate: ❌ FAIL\n"))
		assert.NotContains(t, string(summary), "<h2>")
		assert.NotContains(t, string(summary), "<!--")
		outputs, err := os.ReadFile(env["GITHUB_OUTPUT"])
		require.NoError(t, err)
		assert.Contains(t, string(outputs), "result<<ghadelimiter_")
		assert.NotContains(t, string(outputs), "result<<ghadelimiter_\npass")
	})

	t.Run("Azure", func(t *testing.T) {
		dir := t.TempDir()
		env := map[string]string{
			azure.InputPrefix + "dockerImageName": archive, azure.InputPrefix + "dbPath": db,
			azure.InputPrefix + "sarifFile": filepath.Join(dir, "r.sarif"), azure.InputPrefix + "dbMaxAge": "876000h",
			azure.InputPrefix + "allowIncomplete": "true", azure.InputPrefix + "monitorWhen": "never",
		}
		var out bytes.Buffer
		code := azure.Run(context.Background(), func(k string) string { return env[k] }, &out)
		assert.Equal(t, 1, code, out.String())
		var completes []string
		for _, line := range strings.Split(out.String(), "\n") {
			if i := strings.Index(line, "##vso["); i >= 0 {
				assert.Equal(t, 0, i, "a logging command only at the start of imagegate's own lines: %q", line)
				assert.Regexp(t, `^##vso\[(task\.(logissue|complete|setvariable|uploadsummary|setsecret)|artifact\.upload)[ \]]`, line)
				assert.NotContains(t, line, "forged")
			}
			if strings.HasPrefix(line, "##vso[task.complete") {
				completes = append(completes, line)
			}
			if strings.Contains(line, "##[") {
				assert.Regexp(t, `^##\[(group|endgroup)\]`, line, "no ##[ markers from the image")
				assert.Equal(t, 1, strings.Count(line, "##["), line)
			}
			assert.NotContains(t, line, "\x1b")
		}
		assert.Contains(t, out.String(), "task.setvariable variable=result]pass", "the image's text is in the log, inert")
		require.Len(t, completes, 1)
		assert.Contains(t, completes[0], "result=Failed")
		assert.NotRegexp(t, `(?m)^##vso\[task\.setvariable variable=result\]pass`, out.String())
	})
}
