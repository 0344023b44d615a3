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

func TestImagePaths(t *testing.T) {
	images := []string{"ghcr.io/org/api:1.2", "worker@sha256:" + strings.Repeat("a", 64), "docker-archive:build/app.tar", "other/api:1.2", "///"}
	assert.Equal(t, []string{"api-1.2-1", "worker", "app.tar", "api-1.2-4", "image"}, output.Slugs(images))
	assert.Equal(t, filepath.Join("out", "imagegate-worker.json"), output.ImagePath(filepath.Join("out", "imagegate.json"), images, 1))
	assert.Equal(t, "sbom-app.tar.cdx.json", output.ImagePath("sbom.cdx.json", images, 2))
	assert.Equal(t, ".hidden-image", output.ImagePath(".hidden", images, 4))
	assert.Equal(t, []string{"r.sarif"}, output.Paths(output.Spec{Format: "sarif", Path: "r.sarif"}, images), "SARIF holds every image")
	assert.Len(t, output.Paths(output.Spec{Format: "junit", Path: "r.xml"}, images), len(images), "JUnit is a file per image")
	assert.Equal(t, []string{"r.json"}, output.Paths(output.Spec{Format: "json", Path: "r.json"}, images[:1]), "one image: the path as given")
	assert.Equal(t, []string{os.DevNull}, output.Paths(output.Spec{Format: "json", Path: os.DevNull}, images), "a device takes the documents one after the other")
}
