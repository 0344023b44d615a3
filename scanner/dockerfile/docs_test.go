package dockerfile_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/dockerfile"
)

var update = flag.Bool("update", false, "rewrite golden files")

// docs/rules.md is generated from the rules; it must not drift.
func TestRulesDoc(t *testing.T) {
	p := filepath.Join(imagetest.RepoRoot(t), "docs", "rules.md")
	want := dockerfile.RulesMarkdown()
	if *update {
		require.NoError(t, os.WriteFile(p, []byte(want), 0o644))
	}
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, want, string(got), "run: go test ./scanner/dockerfile -run TestRulesDoc -update")
}
