package layercache_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/layercache"
)

// Entries are private to the user, read back whole, and a damaged one is a miss.
func TestEntries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layers")
	c, err := layercache.Open(dir)
	require.NoError(t, err)
	_, ok := c.Get("k")
	assert.False(t, ok)
	c.Put("k", []byte("analysed layer"))
	got, ok := c.Get("k")
	require.True(t, ok)
	assert.Equal(t, "analysed layer", string(got))
	assert.Equal(t, int64(1), c.Hits())
	assert.Equal(t, int64(1), c.Misses())

	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	entries, err := filepath.Glob(filepath.Join(dir, "*", "*"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	st, err = os.Stat(entries[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	b, err := os.ReadFile(entries[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(entries[0], b[:len(b)-3], 0o600))
	_, ok = c.Get("k")
	assert.False(t, ok, "a truncated entry")
}

// A cache folder someone else owns is refused: an entry planted there could hide a
// layer's packages or secrets from the gate.
func TestPlantedFolderRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("planting a folder owned by another user needs root")
	}
	dir := filepath.Join(t.TempDir(), "layers")
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chown(dir, 12345, 12345))
	_, err := layercache.Open(dir)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "belongs to another user")
}

// Entries not used for the age given are removed; one used since stays.
func TestPrune(t *testing.T) {
	c, err := layercache.Open(filepath.Join(t.TempDir(), "layers"))
	require.NoError(t, err)
	c.Put("old", []byte("a"))
	c.Put("used", []byte("b"))
	entries, err := filepath.Glob(filepath.Join(c.Path(), "*", "*"))
	require.NoError(t, err)
	require.Len(t, entries, 2)
	long := time.Now().Add(-60 * 24 * time.Hour)
	for _, e := range entries {
		require.NoError(t, os.Chtimes(e, long, long))
	}
	_, ok := c.Get("used") // a hit marks it used
	require.True(t, ok)
	n, err := c.Prune(30*24*time.Hour, 0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, ok = c.Get("old")
	assert.False(t, ok)
	_, ok = c.Get("used")
	assert.True(t, ok)
}

// Past the size given, the least recently used entries go first, until the rest fit.
func TestPruneBySize(t *testing.T) {
	c, err := layercache.Open(filepath.Join(t.TempDir(), "layers"))
	require.NoError(t, err)
	body := bytes.Repeat([]byte("x"), 1000)
	for i, key := range []string{"oldest", "middle", "newest"} {
		c.Put(key, body)
		matches, err := filepath.Glob(filepath.Join(c.Path(), "*", "*"))
		require.NoError(t, err)
		at := time.Now().Add(time.Duration(i-3) * time.Hour)
		for _, m := range matches {
			st, err := os.Stat(m)
			require.NoError(t, err)
			if time.Since(st.ModTime()) < time.Minute { // the entry just written
				require.NoError(t, os.Chtimes(m, at, at))
			}
		}
	}
	n, err := c.Prune(0, 1500) // each entry is 1,000 bytes and its header: one fits
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the two least recently used go")
	_, ok := c.Get("newest")
	assert.True(t, ok)
	for _, gone := range []string{"oldest", "middle"} {
		_, ok := c.Get(gone)
		assert.False(t, ok, gone)
	}
	n, err = c.Prune(0, 0)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "no limits: nothing removed")
}

// A cache folder of ours that others can write to is refused, not quietly closed: an entry
// may already have been planted there.
func TestWorldWritableFolderRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layers")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chmod(dir, 0o777))
	_, err := layercache.Open(dir)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "writable by other users")
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o777), st.Mode().Perm(), "left as it was")
}

// An entry copied over another key's file is rejected, counted, and a miss.
func TestEntriesAreBoundToTheirKey(t *testing.T) {
	c, err := layercache.Open(filepath.Join(t.TempDir(), "layers"))
	require.NoError(t, err)
	c.Put("clean", []byte("no packages"))
	c.Put("vulnerable", []byte("minimist 1.2.5"))
	files, err := filepath.Glob(filepath.Join(c.Path(), "*", "*"))
	require.NoError(t, err)
	require.Len(t, files, 2)
	clean, ok := c.Get("clean")
	require.True(t, ok)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if !bytes.HasSuffix(b, clean) {
			vulnerable := f
			for _, g := range files {
				if g != vulnerable {
					b, err := os.ReadFile(g)
					require.NoError(t, err)
					require.NoError(t, os.WriteFile(vulnerable, b, 0o600))
				}
			}
		}
	}
	_, ok = c.Get("vulnerable")
	assert.False(t, ok)
	assert.Equal(t, int64(1), c.Rejected())
}

// A cache key others can read, or another user's, is no secret: refused.
func TestSharedKeyRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layers")
	_, err := layercache.Open(dir)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir+".key", 0o644))
	_, err = layercache.Open(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a private file")
	require.NoError(t, os.Chmod(dir+".key", 0o600))
	_, err = layercache.Open(dir)
	require.NoError(t, err, "the same key, private again")
}
