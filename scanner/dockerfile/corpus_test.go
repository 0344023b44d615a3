package dockerfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/golden"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/dockerfile"
)

// TestCorpus lints real-world Dockerfiles (official images and popular projects; each
// names its origin in its last line) and compares the findings with reviewed golden files
// (testdata/dockerfiles/corpus/*/expected.txt; rewrite with -update).
func TestCorpus(t *testing.T) {
	root := filepath.Join(imagetest.RepoRoot(t), "testdata", "dockerfiles", "corpus")
	dirs, err := os.ReadDir(root)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 30)
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join(root, d.Name())
			src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			require.NoError(t, err)
			require.Contains(t, string(src), "# Origin: ", "every corpus file names where it comes from")
			var b strings.Builder
			df, err := dockerfile.Parse("Dockerfile", src)
			if err != nil {
				fmt.Fprintf(&b, "error: %v\n", err)
			} else {
				for _, f := range dockerfile.Lint(df, dockerfile.Options{}) {
					fmt.Fprintf(&b, "%d-%d %s %s %s\n", f.Location.StartLine, f.Location.EndLine, f.ID, f.Severity, f.Message)
				}
			}
			golden.Check(t, "testdata/dockerfiles/corpus/"+d.Name()+"/expected.txt", []byte(b.String()))
		})
	}
}
