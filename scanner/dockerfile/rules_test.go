package dockerfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/dockerfile"
)

// ok is a Dockerfile that follows every rule; cases change it to break one.
const ok = `FROM alpine:3.20@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5
RUN addgroup -S -g 10001 app && adduser -S -u 10001 app -G app
USER 10001
HEALTHCHECK CMD ["true"]
CMD ["app"]
`

// lintText lints Dockerfile source in a folder that has a .dockerignore (unless noIgnore).
func lintText(t *testing.T, src string, noIgnore bool) []report.Finding {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
	if !noIgnore {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(".git\n.env\n*.pem\n*.key\nid_rsa\nid_ed25519\n.npmrc\n.pypirc\n.aws\n.docker\n.netrc\n"), 0o644))
	}
	d, err := dockerfile.ParseFile(p)
	require.NoError(t, err, src)
	return dockerfile.Lint(d, dockerfile.Options{})
}

func ids(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// body wraps instructions in the ok Dockerfile's final stage.
func body(lines ...string) string {
	return strings.Replace(ok, "USER 10001\n", "USER 10001\n"+strings.Join(lines, "\n")+"\n", 1)
}

type ruleCase struct {
	bad, good []string
	noIgnore  bool
}

// cases are every rule's cases, from the rules_<theme>_test.go files.
func cases() map[string]ruleCase {
	all := map[string]ruleCase{}
	for _, m := range []map[string]ruleCase{apkCases, aptCases, baseCases, contextCases, copyCases, instructionsCases, langCases, rpmCases, runCases, secretsCases, userCases} {
		for id, c := range m {
			all[id] = c
		}
	}
	return all
}

func TestEveryRuleHasCases(t *testing.T) {
	for _, r := range dockerfile.Rules() {
		c, ok := cases()[r.ID]
		require.True(t, ok, "rule %s has no test cases", r.ID)
		assert.NotEmpty(t, c.good, "rule %s has no Dockerfile that must not fire", r.ID)
		if r.ID != "DF012" {
			assert.NotEmpty(t, c.bad, "rule %s has no Dockerfile that fires it", r.ID)
		}
		assert.NotEmpty(t, r.Rationale)
		assert.NotEmpty(t, r.Fix)
		assert.Contains(t, r.HelpURI, "#"+strings.ToLower(r.ID))
		// Named fields keep the other tools' ids in their places.
		assert.Regexp(t, `^(DL[34]\d{3})?$`, r.Hadolint, r.ID)
		assert.Regexp(t, `^((CIS-DI|DKL-DI|DKL-LI)-\d{4})?$`, r.Dockle, r.ID)
	}
	assert.GreaterOrEqual(t, len(dockerfile.Rules()), 45)
}

// checkCases lints each case: every bad Dockerfile fires the rule, no good one does.
func checkCases(t *testing.T, cases map[string]ruleCase) {
	t.Helper()
	for id, c := range cases {
		for i, src := range c.bad {
			t.Run(id+"/bad", func(t *testing.T) {
				assert.Contains(t, ids(lintText(t, src, c.noIgnore)), id, "case %d:\n%s", i, src)
			})
		}
		for i, src := range c.good {
			t.Run(id+"/good", func(t *testing.T) {
				assert.NotContains(t, ids(lintText(t, src, c.noIgnore)), id, "case %d:\n%s", i, src)
			})
		}
	}
}

func TestOkDockerfileIsClean(t *testing.T) {
	assert.Empty(t, lintText(t, ok, false))
}

func TestFindingsCarryLocations(t *testing.T) {
	src := "FROM alpine:3.20\nRUN apk add \\\n    curl\nUSER root\n"
	fs := lintText(t, src, false)
	var got *report.Finding
	for i := range fs {
		if fs[i].ID == "DF022" {
			got = &fs[i]
		}
	}
	require.NotNil(t, got)
	assert.Equal(t, 2, got.Location.StartLine)
	assert.Equal(t, 3, got.Location.EndLine)
	assert.Equal(t, 1, got.Location.StartColumn)
	assert.Equal(t, len("    curl")+1, got.Location.EndColumn)
	assert.Equal(t, report.KindDockerfile, got.Kind)
	assert.Equal(t, -1, got.Layer)
	require.NotNil(t, got.Rule)
	assert.Equal(t, "DL3018", got.Rule.Hadolint)
}
