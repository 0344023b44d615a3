package dockerfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLint parses and lints arbitrary Dockerfiles, seeded with the real corpus: never a
// panic, and every finding points at a line of the file.
func FuzzLint(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "dockerfiles", "corpus", "*", "Dockerfile"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("FROM scratch\nARG A=${B:-$(C)}\nRUN <<EOF\nset -e\nEOF\n"))
	f.Add([]byte("# syntax=docker/dockerfile:1\nFROM a AS b\nCOPY --from=b \\\n  / /\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("Dockerfile", data)
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, fd := range Lint(d, Options{ContextDir: dir}) {
			if fd.Location == nil || fd.Location.StartLine == 0 {
				continue // file-level findings
			}
			if fd.Location.StartLine < 1 || fd.Location.StartLine > lines || fd.Location.EndLine < fd.Location.StartLine {
				t.Fatalf("%s at lines %d-%d of a %d-line file", fd.ID, fd.Location.StartLine, fd.Location.EndLine, lines)
			}
		}
	})
}
