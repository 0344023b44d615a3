package gofuncs_test

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/gofuncs"
)

const program = `package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

func main() {
	if f, err := os.Open("/etc/hostname"); err == nil {
		f.Close()
	}
	if resp, err := http.Get("http://127.0.0.1:1/"); err == nil {
		resp.Body.Close()
	}
	fmt.Println(strings.ToUpper("x"))
}
`

// build compiles the program with the toolchain running the test, once per way a
// release builds it.
func build(t *testing.T) map[string][]byte {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/rt\n\ngo 1.22\n"), 0o644))
	out := map[string][]byte{}
	for name, args := range map[string][]string{
		"plain":    nil,
		"trimpath": {"-trimpath"},
		"pie":      {"-buildmode=pie"},
		"stripped": {"-ldflags=-s -w"},
	} {
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), ".")...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, string(b))
		out[name], err = os.ReadFile(bin)
		require.NoError(t, err)
	}
	return out
}

// The function table and the inline trees: functions that exist only inlined (os.Open and
// net/http.Get are not in the binary's symbol table) are linked; a function the program
// does not reach (net/http.ListenAndServe) is not; every function debug/gosym lists is
// there; and the trimmed, position-independent and stripped builds read as the plain one.
func TestReadsFunctionsAndInlinedFunctions(t *testing.T) {
	bins := build(t)
	plain, err := gofuncs.Read(bytes.NewReader(bins["plain"]), int64(len(bins["plain"])))
	require.NoError(t, err)

	f, err := elf.NewFile(bytes.NewReader(bins["plain"]))
	require.NoError(t, err)
	syms, err := f.Symbols()
	require.NoError(t, err)
	inSymtab := map[string]bool{}
	for _, s := range syms {
		inSymtab[s.Name] = true
	}
	for _, c := range []struct{ pkg, sym string }{{"os", "Open"}, {"net/http", "Get"}} {
		assert.False(t, inSymtab[c.pkg+"."+c.sym], "%s.%s is only inlined in this build", c.pkg, c.sym)
		assert.True(t, plain.Has(c.pkg, c.sym), "%s.%s is in an inline tree", c.pkg, c.sym)
	}
	assert.True(t, plain.Has("net/http", "Client.Do"), "a method, (*Client).Do")
	assert.True(t, plain.Has("strings", "ToUpper"))
	assert.True(t, plain.HasPackage("net/http"))
	assert.False(t, plain.Has("net/http", "ListenAndServe"), "not reached by the program")
	assert.False(t, plain.HasPackage("encoding/xml"), "not imported")

	pcln := f.Section(".gopclntab")
	data, err := pcln.Data()
	require.NoError(t, err)
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, f.Section(".text").Addr))
	require.NoError(t, err)
	for _, fn := range tab.Funcs {
		if pkg, sym := gofuncs.Split(fn.Name); pkg != "" && sym != "" {
			require.True(t, plain.Has(pkg, sym), "debug/gosym lists %s", fn.Name)
		}
	}

	// Kept in the layer cache and read back whole.
	b, err := plain.GobEncode()
	require.NoError(t, err)
	back := &gofuncs.Table{}
	require.NoError(t, back.GobDecode(b))
	assert.Equal(t, plain, back)
	// A cached table is an input: hash lists out of order or repeated are refused.
	for _, bad := range [][]uint64{{2, 1}, {1, 1}} {
		var buf bytes.Buffer
		require.NoError(t, gob.NewEncoder(&buf).Encode(struct{ Syms, Pkgs []uint64 }{Syms: []uint64{1}, Pkgs: bad}))
		assert.ErrorContains(t, (&gofuncs.Table{}).GobDecode(buf.Bytes()), "out of order")
	}

	for _, name := range []string{"trimpath", "pie", "stripped"} {
		other, err := gofuncs.Read(bytes.NewReader(bins[name]), int64(len(bins[name])))
		require.NoError(t, err, name)
		assert.Equal(t, plain, other, "%s reads as the plain build", name)
	}

	// Section headers gone (sstrip, or a packer): the table is found by its header and
	// the module data that points at it.
	noSection := bytes.Clone(bins["stripped"])
	i := bytes.Index(noSection, []byte(".gopclntab\x00"))
	require.Positive(t, i)
	copy(noSection[i:], ".xxxxxxxxx")
	ns, err := elf.NewFile(bytes.NewReader(noSection))
	require.NoError(t, err)
	require.Nil(t, ns.Section(".gopclntab"))
	found, err := gofuncs.Read(bytes.NewReader(noSection), int64(len(noSection)))
	require.NoError(t, err)
	assert.Equal(t, plain, found)
}

// A Go 1.22 binary built elsewhere (the fixture's source is beside it) reads too.
func TestReadsAGo122Binary(t *testing.T) {
	server := imagetest.Fixture(t, "gobinary/go1.22-server")
	tab, err := gofuncs.Read(bytes.NewReader(server), int64(len(server)))
	require.NoError(t, err)
	assert.Positive(t, tab.Packages())
	assert.True(t, tab.HasPackage("runtime"))
}

// What is not a Go 1.18+ binary is an error, never an empty table (an empty table would
// read as "nothing linked": every finding not reachable).
func TestRefusesWhatItCannotRead(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":      nil,
		"text":       []byte("#!/bin/sh\necho hi\n"),
		"truncated":  build(t)["plain"][:1<<20],
		"not go elf": elfWithoutGo(t),
	} {
		_, err := gofuncs.Read(bytes.NewReader(data), int64(len(data)))
		assert.Error(t, err, name)
	}
}

func elfWithoutGo(t *testing.T) []byte {
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true")
	}
	return b
}

func TestSplit(t *testing.T) {
	for name, want := range map[string][2]string{
		"net/http.(*Client).Do":                     {"net/http", "Client.Do"},
		"net/http.Get":                              {"net/http", "Get"},
		"gopkg.in/yaml%2ev3.Unmarshal":              {"gopkg.in/yaml.v3", "Unmarshal"},
		"example.com/m.Map[go.shape.int].Get":       {"example.com/m", "Map.Get"},
		"example.com/m.(*Set[go.shape.string]).Add": {"example.com/m", "Set.Add"},
		"encoding/json.Unmarshal.func1":             {"encoding/json", "Unmarshal.func1"},
		"type:.eq.net/http.Header":                  {"", ""},
		"go:buildinfo":                              {"", ""},
	} {
		pkg, sym := gofuncs.Split(name)
		assert.Equal(t, want, [2]string{pkg, sym}, name)
	}
}

// failingAt reads as r does, and fails a read that covers byte bad (a temporary file gone
// bad, say).
type failingAt struct {
	r   io.ReaderAt
	bad int64
}

func (f failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off <= f.bad && f.bad < off+int64(len(p)) {
		return 0, errors.New("input/output error")
	}
	return f.r.ReadAt(p, off)
}

// A binary that cannot be read (its headers, or a byte amid its function table) is an
// error naming the read, never a table of what was read before it.
func TestReadErrorIsAnError(t *testing.T) {
	bin := build(t)["plain"]
	f, err := elf.NewFile(bytes.NewReader(bin))
	require.NoError(t, err)
	tab := f.Section(".gopclntab")
	for _, bad := range []int64{int64(len(bin)) - 1, int64(tab.Offset + tab.Size/2)} {
		_, err := gofuncs.Read(failingAt{bytes.NewReader(bin), bad}, int64(len(bin)))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "input/output error", bad)
	}
}

// A name table whose NULs are gone (every name runs to the table's end) is refused, in
// work that grows with the table, not with its square.
func TestRefusesOverlappingNames(t *testing.T) {
	bin := bytes.Clone(build(t)["plain"])
	f, err := elf.NewFile(bytes.NewReader(bin))
	require.NoError(t, err)
	tab := f.Section(".gopclntab")
	// Go 1.20+ header: magic, pad, minLC, ptrSize, then nfunc, nfiles, textStart,
	// funcnameOffset, cuOffset (pointer-sized, from the table's start).
	head := bin[tab.Offset:]
	start, end := binary.LittleEndian.Uint64(head[32:]), binary.LittleEndian.Uint64(head[40:])
	require.Less(t, start, end)
	names := head[start:end]
	require.Positive(t, bytes.Count(names, []byte{0}))
	for i := range names {
		if names[i] == 0 {
			names[i] = 'x'
		}
	}
	_, err = gofuncs.Read(bytes.NewReader(bin), int64(len(bin)))
	require.Error(t, err)
	assert.ErrorContains(t, err, "overlap")
}
