package demo_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/demo"
	"github.com/imagegate/imagegate/internal/imagetest"
)

// The committed demo archive is what the generator builds today.
func TestCommittedDemoIsUpToDate(t *testing.T) {
	root := imagetest.RepoRoot(t)
	want, err := demo.Build(root)
	require.NoError(t, err)
	got, err := tarball.ImageFromPath(filepath.Join(root, demo.ArchivePath), nil)
	require.NoError(t, err, "run: go run ./internal/demo/mkdemo")
	wantID, err := want.ConfigName()
	require.NoError(t, err)
	gotID, err := got.ConfigName()
	require.NoError(t, err)
	assert.Equal(t, wantID, gotID, "testdata/demo/demo-image.tar is stale: run go run ./internal/demo/mkdemo")
}
