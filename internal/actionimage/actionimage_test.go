package actionimage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
	"gopkg.in/yaml.v3"

	"github.com/imagegate/imagegate/internal/actionimage"
	"github.com/imagegate/imagegate/internal/imagetest"
)

// The action image's Go toolchain is go.mod's: the image builds with GOTOOLCHAIN=local, so
// an older image cannot build the module and a newer one would build another toolchain
// than CI tests.
func TestActionImageGoMatchesGoMod(t *testing.T) {
	root := imagetest.RepoRoot(t)
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	mf, err := modfile.ParseLax("go.mod", mod, nil)
	require.NoError(t, err)
	want := mf.Go.Version
	if mf.Toolchain != nil {
		want = strings.TrimPrefix(mf.Toolchain.Name, "go")
	}
	got, err := actionimage.GoVersion(df)
	require.NoError(t, err)
	assert.Equal(t, want, got, "the Dockerfile's golang image and go.mod disagree")
	assert.Contains(t, string(df), "GOTOOLCHAIN=local")

	// The check does catch a mismatch.
	bad := strings.Replace(string(df), "golang:"+got, "golang:1.26.4", 1)
	v, err := actionimage.GoVersion([]byte(bad))
	require.NoError(t, err)
	assert.NotEqual(t, want, v)
}

// The released image runs as root (GitHub's rule for Docker actions), with the entrypoint
// and arguments action.yml expects; the test image the end-to-end tests build keeps them.
func TestActionImageUserAndEntrypoint(t *testing.T) {
	root := imagetest.RepoRoot(t)
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	lines, err := actionimage.FinalStage(df)
	require.NoError(t, err)
	var users, entry, cmd []string
	for _, l := range lines {
		switch strings.ToUpper(strings.Fields(l)[0]) {
		case "USER":
			users = append(users, l)
		case "ENTRYPOINT":
			entry = append(entry, l)
		case "CMD":
			cmd = append(cmd, l)
		}
	}
	require.NotEmpty(t, users, "the final stage says its user")
	for _, u := range users {
		assert.Contains(t, []string{"USER root", "USER 0"}, u)
	}
	assert.Equal(t, []string{`ENTRYPOINT ["/imagegate"]`}, entry)
	assert.Equal(t, []string{`CMD ["github"]`}, cmd)

	var action struct {
		Runs struct {
			Using string   `yaml:"using"`
			Image string   `yaml:"image"`
			Args  []string `yaml:"args"`
		} `yaml:"runs"`
	}
	b, err := os.ReadFile(filepath.Join(root, "action.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &action))
	assert.Equal(t, "docker", action.Runs.Using)
	assert.Equal(t, []string{"github"}, action.Runs.Args)

	pkg, err := actionimage.Packaging(df, "imagegate")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(pkg, "FROM scratch\nCOPY imagegate /imagegate\n"), pkg)
	assert.Contains(t, pkg, "USER 0\n")
	assert.Contains(t, pkg, "ENTRYPOINT [\"/imagegate\"]\nCMD [\"github\"]\n")
}
