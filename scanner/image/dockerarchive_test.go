package image

import (
	"context"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
)

// A docker archive's layers are listed from its config and members (no sha256 over every
// layer before the walk), and answer what go-containerregistry's layers answer.
func TestSavedImageLayersAnswerAsGoContainerregistry(t *testing.T) {
	var steps []imagetest.Step
	for _, body := range []string{"one", "two", "three"} {
		steps = append(steps, imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("f/"+body, []byte(body)))})
	}
	p := imagetest.DockerArchive(t, imagetest.Image(t, "linux/amd64", steps...), "example.com/app:1")
	img, err := Open(context.Background(), "docker-archive:"+p)
	require.NoError(t, err)
	require.IsType(t, &savedImage{}, img.Image)
	ours, err := img.Layers()
	require.NoError(t, err)
	ref, err := tarball.ImageFromPath(p, nil)
	require.NoError(t, err)
	theirs, err := ref.Layers()
	require.NoError(t, err)
	require.Len(t, ours, len(theirs))
	for i := range theirs {
		od, err := ours[i].Digest()
		require.NoError(t, err)
		td, _ := theirs[i].Digest()
		assert.Equal(t, td, od, "digest %d", i)
		od, _ = ours[i].DiffID()
		td, _ = theirs[i].DiffID()
		assert.Equal(t, td, od, "diff ID %d", i)
		osz, _ := ours[i].Size()
		ts, _ := theirs[i].Size()
		assert.Equal(t, ts, osz, "size %d", i)
		om, _ := ours[i].MediaType()
		tm, _ := theirs[i].MediaType()
		assert.Equal(t, tm, om, "media type %d", i)
		assert.Equal(t, read(t, theirs[i].Compressed), read(t, ours[i].Compressed), "compressed %d", i)
		assert.Equal(t, read(t, theirs[i].Uncompressed), read(t, ours[i].Uncompressed), "uncompressed %d", i)
	}
}

func read(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}
