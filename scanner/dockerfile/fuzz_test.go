package dockerfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
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

// FuzzShellNesting builds RUN scripts of fuzzed nesting (subshells, groups, command
// substitutions) and operator chains, in line-continued form so that BuildKit's line limit
// does not stop them first: parsing and linting either refuse the script with the limit
// named or parse and lint, never exhausting the stack.
func FuzzShellNesting(f *testing.F) {
	f.Add(uint16(10), uint16(10), uint8(0))
	f.Add(uint16(300), uint16(0), uint8(1))
	f.Add(uint16(0), uint16(30000), uint8(2))
	f.Fuzz(func(t *testing.T, depth, ops uint16, kind uint8) {
		open, close := []string{"$( ", "( ", "{ "}[kind%3], []string{") ", ") ", "; } "}[kind%3]
		var b bytes.Buffer
		b.WriteString("FROM scratch\nRUN ")
		for range depth {
			b.WriteString(open + "\\\n")
		}
		b.WriteString("true")
		for range ops {
			b.WriteString(" && \\\ntrue")
		}
		for range depth {
			b.WriteString(close + "\\\n")
		}
		b.WriteString("\n")
		d, err := Parse("Dockerfile", b.Bytes())
		overDepth := int(depth) > MaxShellNesting
		overOps := 2*int(ops) > MaxShellOperators // each && is two operator characters
		switch {
		case overDepth && (err == nil || !strings.Contains(err.Error(), "nests")) && !overOps:
			t.Fatalf("depth %d: want the nesting limit, got %v", depth, err)
		case overOps && (err == nil || !strings.Contains(err.Error(), "chains")) && !overDepth:
			t.Fatalf("%d operators: want the chain limit, got %v", ops, err)
		case err != nil:
			if !overDepth && !overOps {
				t.Fatalf("within the limits (depth %d, %d operators): %v", depth, ops, err)
			}
			return
		}
		Lint(d, Options{})
	})
}
