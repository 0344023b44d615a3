package dockerfile_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/golden"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/dockerfile"
)

// otherChecks reads the vendored lists of hadolint's and Trivy's Dockerfile checks.
func otherChecks(t *testing.T) []dockerfile.OtherCheck {
	t.Helper()
	var out []dockerfile.OtherCheck
	for _, tool := range []string{"hadolint", "trivy"} {
		f, err := os.Open(filepath.Join(imagetest.RepoRoot(t), "testdata", "parity", tool+".tsv"))
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			id, title, _ := strings.Cut(sc.Text(), "\t")
			out = append(out, dockerfile.OtherCheck{Tool: tool, ID: id, Title: title})
		}
		f.Close()
	}
	return out
}

// docs/rules.md is generated from the rules and the parity table; it must not drift.
func TestRulesDoc(t *testing.T) {
	golden.Check(t, "docs/rules.md", []byte(dockerfile.RulesMarkdown()+dockerfile.ParityMarkdown(otherChecks(t))))
}

// Every hadolint rule and Trivy Dockerfile check is covered by an existing rule or has a
// reason; none names a rule that does not exist.
func TestParityCoversEveryCheck(t *testing.T) {
	checks := otherChecks(t)
	var hadolint, trivy []string
	for _, c := range checks {
		if c.Tool == "hadolint" {
			hadolint = append(hadolint, c.ID)
		} else {
			trivy = append(trivy, c.ID)
		}
	}
	require.Greater(t, len(hadolint), 100)
	require.Greater(t, len(trivy), 25)
	for _, e := range dockerfile.Parity(hadolint, trivy) {
		assert.True(t, len(e.Rules) > 0 || e.Reason != "", "%s %s: neither a rule nor a reason", e.Tool, e.ID)
		for _, r := range e.Rules {
			_, ok := dockerfile.RuleByID(r)
			assert.True(t, ok, "%s %s names %s, which does not exist", e.Tool, e.ID, r)
		}
	}
}
