package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
)

// goServer is a real Go 1.22 binary (osv-scalibr's test data: testdata/README.md).
func goServer(t *testing.T) image.Content {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "gobinary", "go1.22-server"))
	require.NoError(t, err)
	return image.BytesContent(data)
}

// The Go binaries' function tables one scan keeps are bounded (MaxGoTableBytes): a binary
// read past the bound keeps none (the reachability of its vulnerabilities is unknown, never
// "not reachable"), its layer is not cached (a later scan with room reads it), a binary
// after it is not even read, and the count reaches the warnings.
func TestGoTablesPastTheBudgetAreNotKept(t *testing.T) {
	c := goServer(t)
	a, err := New(0)
	require.NoError(t, err)
	link := func(layer int) report.Package {
		pkgs := []report.Package{{Ecosystem: "Go", Name: "stdlib"}}
		a.linkGo(&image.File{Path: "usr/bin/server", Layer: layer}, pkgs, c)
		return pkgs[0]
	}

	first := link(0)
	require.NotNil(t, first.Linked, first.LinkedError)
	assert.True(t, first.Linked.HasPackage("runtime"))
	kept := a.goTables.Load()
	require.Positive(t, kept)

	a.goTableBudget = kept + kept/2 // room for half a table more
	for layer := 1; layer <= 2; layer++ {
		p := link(layer)
		assert.Nil(t, p.Linked, "layer %d", layer)
		assert.Contains(t, p.LinkedError, "function table was not kept")
		assert.True(t, a.failedLayers[layer], "layer %d is not cached", layer)
	}
	assert.False(t, a.failedLayers[0])
	assert.EqualValues(t, 2, a.tablesDropped.Load())
	assert.Equal(t, 2*kept, a.goTables.Load(), "the third binary was not read")

	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("etc/hostname", []byte("box\n")))})
	idx, err := image.Walk(t.Context(), &image.Image{Image: img}, a, image.WithConsumer(a))
	require.NoError(t, err)
	res, err := a.Analyze(t.Context(), idx, nil)
	require.NoError(t, err)
	assert.Contains(t, res.Warnings, fmt.Sprintf("2 Go binaries' function tables were not kept (the image's tables passed %d bytes): the reachability of their vulnerabilities is unknown, gated as reachable", a.goTableBudget))
}

// A table restored from the layer cache counts against the same bound: past it, it is
// not kept either.
func TestCachedGoTablesCountAgainstTheBudget(t *testing.T) {
	saver, err := New(0)
	require.NoError(t, err)
	f := &image.File{Path: "usr/bin/server", Layer: 0}
	pkgs := []report.Package{{Ecosystem: "Go", Name: "stdlib"}}
	saver.linkGo(f, pkgs, goServer(t))
	saver.streamed[f] = pkgs
	entry, ok := saver.SaveLayer(0)
	require.True(t, ok)

	for _, budget := range []int64{MaxGoTableBytes, 1} {
		a, err := New(0)
		require.NoError(t, err)
		a.goTableBudget = budget
		g := &image.File{Path: "usr/bin/server", Layer: 0}
		require.NoError(t, a.RestoreLayer([]*image.File{g}, entry))
		p := a.streamed[g][0]
		if budget == 1 {
			assert.Nil(t, p.Linked)
			assert.Contains(t, p.LinkedError, "function table was not kept")
			assert.EqualValues(t, 1, a.tablesDropped.Load())
			continue
		}
		require.NotNil(t, p.Linked, p.LinkedError)
		assert.True(t, p.Linked.HasPackage("runtime"))
	}
}
