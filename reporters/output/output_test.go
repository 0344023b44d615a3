//go:build unix

package output_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/reporters/output"
)

func render(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// -o json=/dev/stdout, or a FIFO: the report is written through to it, and the device or
// pipe stays what it was (as root, a rename would have replaced /dev/stdout with a file).
func TestOutputToDevicesAndPipes(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	require.NoError(t, output.WriteFile(fifo, render(`{"report": true}`)))
	assert.Equal(t, `{"report": true}`, <-got)
	st, err := os.Lstat(fifo)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeNamedPipe, "still a FIFO")

	if os.Getuid() == 0 {
		null := filepath.Join(dir, "null")
		require.NoError(t, syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3)) // a /dev/null of our own
		require.NoError(t, output.WriteFile(null, render("report")))
		st, err := os.Lstat(null)
		require.NoError(t, err)
		assert.NotZero(t, st.Mode()&os.ModeCharDevice, "still a device, not replaced by a file")
	}

	// A regular file is replaced atomically, and a failed render leaves it as it was.
	file := filepath.Join(dir, "r.json")
	require.NoError(t, output.WriteFile(file, render("one")))
	err = output.WriteFile(file, func(w io.Writer) error { io.WriteString(w, "half"); return io.ErrUnexpectedEOF })
	require.Error(t, err)
	b, _ := os.ReadFile(file)
	assert.Equal(t, "one", string(b))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".tmp"), e.Name())
	}
}

// Bad output paths are found before any work.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	for path, msg := range map[string]string{
		dir:                                "is a folder",
		filepath.Join(dir, "no", "r.json"): "does not exist",
	} {
		err := output.Check(path)
		require.Error(t, err, path)
		assert.Equal(t, failure.ExitInput, failure.Code(err))
		assert.Contains(t, err.Error(), msg)
	}
	assert.NoError(t, output.Check(filepath.Join(dir, "new.json")))
	assert.NoError(t, output.Check("/dev/null"))
}
