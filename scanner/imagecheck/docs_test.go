package imagecheck_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/baseimage"
	"github.com/imagegate/imagegate/scanner/imagecheck"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestChecksDoc(t *testing.T) {
	p := filepath.Join(imagetest.RepoRoot(t), "docs", "image-checks.md")
	want := imagecheck.ChecksMarkdown(baseimage.Stale)
	if *update {
		require.NoError(t, os.WriteFile(p, []byte(want), 0o644))
	}
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, want, string(got), "run: go test ./scanner/imagecheck -run TestChecksDoc -update")
}
