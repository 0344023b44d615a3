package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/imagetest"
)

// keptImage has, in each of three layers, a database-sized file and a small one, and a
// hard link to the last large one: more than KeepInMemory kept in all.
func keptImage(t *testing.T) (*Image, map[string][]byte) {
	want := map[string][]byte{}
	var steps []imagetest.Step
	for i := range 3 {
		big := bytes.Repeat(fmt.Appendf(nil, "layer %d line\n", i), KeepInMemory/2/13)
		small := fmt.Appendf(nil, "small %d", i)
		big = append(big, 'x')
		entries := []imagetest.Entry{imagetest.File(fmt.Sprintf("l%d/db", i), big), imagetest.File(fmt.Sprintf("l%d/small", i), small)}
		want[fmt.Sprintf("l%d/db", i)], want[fmt.Sprintf("l%d/small", i)] = big, small
		if i == 2 {
			entries = append(entries, imagetest.Entry{Path: "link", Type: tar.TypeLink, Linkname: "l2/db"})
			want["link"] = big
		}
		steps = append(steps, imagetest.Step{Layer: imagetest.Layer(t, entries...)})
	}
	return &Image{Image: imagetest.Image(t, "linux/amd64", steps...)}, want
}

var keepEvery = RequirerFunc(func(string, fs.FileInfo) bool { return true })

// Kept files past KeepInMemory wait on disk and read back the same as those in memory:
// through Content, through the index's fs.FS, through a hard link, and to the consumers
// as the walk reads them. The temporary file is never left in the folder.
func TestKeptFilesPastTheMemoryBudgetWaitOnDisk(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	img, want := keptImage(t)
	d := &sums{got: map[string][]byte{}}
	idx, err := Walk(context.Background(), img, keepEvery, WithConsumer(d))
	require.NoError(t, err)
	onDisk := 0
	for p, b := range want {
		f, ok := idx.Stat(p)
		require.True(t, ok, p)
		require.True(t, f.Retained, p)
		if f.ext.kept != nil {
			onDisk++
		}
		got, err := f.Content().ReadAll()
		require.NoError(t, err, p)
		assert.True(t, bytes.Equal(b, got), p)
		got, err = fs.ReadFile(idx.FS(), p)
		require.NoError(t, err, p)
		assert.True(t, bytes.Equal(b, got), p)
		if p != "link" {
			assert.True(t, bytes.Equal(b, d.got[p]), "consumers see the bytes kept: %s", p)
		}
	}
	assert.Positive(t, onDisk, "some kept files are past the memory budget")
	assert.LessOrEqual(t, idx.kept.inMemory.Load(), int64(KeepInMemory))
	assert.Empty(t, idx.Incomplete())
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "the temporary file is unlinked")
}

// The retained-bytes limit counts the kept files on disk too.
func TestRetainedLimitCountsKeptFilesOnDisk(t *testing.T) {
	img, _ := keptImage(t)
	_, err := Walk(context.Background(), img, keepEvery, WithMaxRetained(KeepInMemory+KeepInMemory/4))
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Equal(t, "max-retained-bytes", failure.SettingOf(err))
}

// A kept file that cannot be written to disk ends the walk as incomplete (exit 3); one
// that cannot be read back leaves the index incomplete, whatever reader asked for it.
func TestKeptFilesOnDiskFailClosed(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "gone"))
	img, _ := keptImage(t)
	_, err := Walk(context.Background(), img, keepEvery)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "kept file")

	t.Setenv("TMPDIR", t.TempDir())
	idx, err := Walk(context.Background(), img, keepEvery)
	require.NoError(t, err)
	require.NoError(t, idx.kept.file.Close())
	for _, f := range idx.Files() {
		if f.ext != nil && f.ext.kept != nil {
			_, err := io.ReadAll(f.Content().Reader())
			require.Error(t, err)
		}
	}
	require.Len(t, idx.Incomplete(), 1)
	assert.Contains(t, idx.Incomplete()[0], "reading a kept file back")
}

// A layer whose kept files waited on disk is cached whole, and a walk from the cache keeps
// them again within the memory budget.
func TestKeptFilesOnDiskRoundTripTheLayerCache(t *testing.T) {
	img, want := keptImage(t)
	img.Can = Capabilities{SharedBlobs: true, StoredManifest: true, StoredCompressed: true}
	cache := &mapCache{m: map[string][]byte{}}
	for run := range 2 {
		idx, err := Walk(context.Background(), img, keepEvery, WithLayerCache(cache, "test"))
		require.NoError(t, err)
		assert.Len(t, cache.m, 3, "every layer cached")
		for p, b := range want {
			f, ok := idx.Stat(p)
			require.True(t, ok, p)
			got, err := f.Content().ReadAll()
			require.NoError(t, err, p)
			assert.True(t, bytes.Equal(b, got), "run %d: %s", run, p)
		}
		assert.LessOrEqual(t, idx.kept.inMemory.Load(), int64(KeepInMemory))
		assert.NotNil(t, idx.kept.file, "run %d: some kept files on disk", run)
	}
}

type mapCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *mapCache) Get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	return b, ok
}

func (c *mapCache) Put(k string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = b
}

// sums records what the consumers were handed of every file.
type sums struct {
	mu  sync.Mutex
	got map[string][]byte
}

func (d *sums) Consumes(string, fs.FileInfo, []byte) bool { return true }

func (d *sums) Consume(_ context.Context, f *File, c Content) {
	b, err := c.ReadAll()
	if err != nil {
		panic(err)
	}
	d.mu.Lock()
	d.got[f.Path] = bytes.Clone(b)
	d.mu.Unlock()
}

// eofAt answers every read with io.EOF, a whole one too (io.ReaderAt allows it).
type eofAt string

func (s eofAt) ReadAt(p []byte, off int64) (int, error) { return copy(p, s[off:]), io.EOF }

// ReadAll takes a whole read that comes with io.EOF, and refuses a short one.
func TestReadAllTakesAWholeReadWithEOF(t *testing.T) {
	b, err := Content{ReaderAt: eofAt("abc"), Size: 3}.ReadAll()
	require.NoError(t, err)
	assert.Equal(t, "abc", string(b))
	_, err = Content{ReaderAt: eofAt("ab"), Size: 3}.ReadAll()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}
