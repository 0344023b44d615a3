package userfile_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// Special files, and symlinks to them, are refused at once with an input error: never
// read (a device never ends) and never opened for blocking (a FIFO never answers).
func TestSpecialFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	zeroLink := filepath.Join(dir, "Dockerfile")
	require.NoError(t, os.Symlink("/dev/zero", zeroLink))
	for path, want := range map[string]string{
		"/dev/zero":                  "a character device",
		"/dev/urandom":               "a character device",
		zeroLink:                     "a character device",
		fifo:                         "a FIFO",
		dir:                          "is a folder",
		filepath.Join(dir, "absent"): "no such file",
	} {
		done := make(chan error, 1)
		go func() { _, err := userfile.Read(path, "dockerfile", 1<<20); done <- err }()
		select {
		case err := <-done:
			require.Error(t, err, path)
			assert.Equal(t, failure.ExitInput, failure.Code(err), path)
			assert.Contains(t, err.Error(), want, path)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the read hung", path)
		}
	}
}

func TestReadLimits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte("12345"), 0o644))
	b, err := userfile.Read(p, "config", 5)
	require.NoError(t, err)
	assert.Equal(t, "12345", string(b))
	_, err = userfile.Read(p, "config", 4)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "over the 4 bytes limit")
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(p, link))
	b, err = userfile.Read(link, "config", 5)
	require.NoError(t, err, "a symlink to a regular file is read")
	assert.Equal(t, "12345", string(b))
}
