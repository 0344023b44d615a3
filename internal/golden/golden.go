// Package golden compares test output with a file committed in the repository, and
// rewrites the file when the tests run with -update.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
)

var update = flag.Bool("update", false, "rewrite golden files with what the tests produce")

// Check fails t when got differs from the file at rel (a slash path from the repository
// root); with -update it writes got there first. Review the diff before committing it.
func Check(t testing.TB, rel string, got []byte) {
	t.Helper()
	p := filepath.Join(imagetest.RepoRoot(t), filepath.FromSlash(rel))
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "create it with go test -update")
	assert.Equal(t, string(want), string(got), "%s differs from what the test produced: run the test with -update and review the diff", rel)
}
