package inventory

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/osv-scalibr/extractor/filesystem"
	scalibrinv "github.com/google/osv-scalibr/inventory"
	"github.com/imagegate/imagegate/scanner/image"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inputs that are small but would make an extractor build gigabytes are refused before it
// runs; ordinary ones pass.
func TestPreflight(t *testing.T) {
	stanzas := strings.Repeat("Package: a\nVersion: 1\n\n", MaxPackageStanzas+1)
	assert.ErrorContains(t, preflight("os/dpkg", "var/lib/dpkg/status", image.BytesContent([]byte(stanzas)), nil), "package entries")
	assert.NoError(t, preflight("os/dpkg", "var/lib/dpkg/status", image.BytesContent([]byte("Package: a\nVersion: 1\n\n")), nil))
	// Content not in memory (a large file, read from its temporary file) counts the same,
	// across the blocks it is read in.
	assert.ErrorContains(t, preflight("os/dpkg", "var/lib/dpkg/status", image.Content{ReaderAt: strings.NewReader(stanzas), Size: int64(len(stanzas))}, nil), "package entries")
	short := strings.Repeat("Package: a\nVersion: 1\n\n", MaxPackageStanzas)
	assert.NoError(t, preflight("os/dpkg", "var/lib/dpkg/status", image.Content{ReaderAt: strings.NewReader(short), Size: int64(len(short))}, nil))

	modules := "MZ" + strings.Repeat("\ndep\tgithub.com/x/y\tv1.0.0\th1:abc=", MaxGoModules+1)
	assert.ErrorContains(t, preflight("go/binary", "app.exe", image.BytesContent([]byte(modules)), nil), "modules", "a file that is not ELF is counted whole")

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("pkg-1.0.dist-info/METADATA")
	require.NoError(t, err)
	w.Write(make([]byte, MaxWheelMemberSize+1)) // zeros: a few KB compressed
	require.NoError(t, zw.Close())
	require.Less(t, buf.Len(), 1<<20)
	assert.ErrorContains(t, preflight("python/wheelegg", "opt/pkg-1.0-py3-none-any.whl", image.BytesContent(buf.Bytes()), nil), "METADATA")
	assert.NoError(t, preflight("python/wheelegg", "usr/lib/python3/dist-packages/pkg-1.0.dist-info/METADATA", image.BytesContent([]byte("Name: pkg\n")), nil))
}

// A real cargo-auditable binary whose .dep-v0 section is replaced (with objcopy) by 20 KiB
// that decompress to 64 MiB is refused; the binary as built passes.
func TestPreflightAuditableBomb(t *testing.T) {
	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		t.Skip("objcopy (binutils) is not installed")
	}
	bin := filepath.Join("..", "..", "testdata", "langs", "uses_serde_json")
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, preflight("rust/cargoauditable", "usr/bin/app", image.BytesContent(data), nil))

	var bomb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&bomb, zlib.BestCompression)
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	dir := t.TempDir()
	section := filepath.Join(dir, "dep-v0")
	require.NoError(t, os.WriteFile(section, bomb.Bytes(), 0o644))
	out := filepath.Join(dir, "bomb")
	cmd := exec.Command(objcopy, "--update-section", ".dep-v0="+section, bin, out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	data, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.ErrorContains(t, preflight("rust/cargoauditable", "usr/bin/app", image.BytesContent(data), nil), "zlib bomb")

	// go-rustaudit reads the legacy section when there is no .dep-v0: so does the check.
	legacy := filepath.Join(dir, "legacy")
	b, err = exec.Command(objcopy, "--rename-section", ".dep-v0=.rust-deps-v0", out, legacy).CombinedOutput()
	require.NoError(t, err, "%s", b)
	data, err = os.ReadFile(legacy)
	require.NoError(t, err)
	assert.ErrorContains(t, preflight("rust/cargoauditable", "usr/bin/app", image.BytesContent(data), nil), ".rust-deps-v0 section expands past")
}

// An ELF binary without either section go-rustaudit reads (a Go binary) has nothing for
// cargo-auditable: the extractor is not asked, read once or twice the headers give the
// same answer; the Rust binary's section is found through headers read once.
func TestPreflightNoAuditableSection(t *testing.T) {
	c := goServer(t)
	ef, err := elf.NewFile(c)
	require.NoError(t, err)
	for _, headers := range []*elf.File{nil, ef} {
		assert.ErrorIs(t, preflight("rust/cargoauditable", "usr/bin/server", c, headers), errNothingToRead)
	}
	rust, err := os.ReadFile(filepath.Join("..", "..", "testdata", "langs", "uses_serde_json"))
	require.NoError(t, err)
	ef, err = elf.NewFile(bytes.NewReader(rust))
	require.NoError(t, err)
	assert.NoError(t, preflight("rust/cargoauditable", "usr/bin/app", image.BytesContent(rust), ef))
}

// A real Go binary whose .go.buildinfo section is replaced (with objcopy) by build info
// listing more than MaxGoModules modules, which debug/buildinfo reads back whole, is
// refused; the binary as built passes.
func TestPreflightGoModulesBomb(t *testing.T) {
	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		t.Skip("objcopy (binutils) is not installed")
	}
	bin := filepath.Join("..", "..", "testdata", "gobinary", "go1.22-server")
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, preflight("go/binary", "usr/bin/app", image.BytesContent(data), nil))

	// The section as the Go linker writes it: magic, pointer size, flags (2: strings
	// inline), padding to 32 bytes, then the version and the module info as varint-prefixed
	// strings, the module info between the runtime's 16-byte sentinels.
	var mod strings.Builder
	mod.WriteString("\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6path\texample.com/app\nmod\texample.com/app\t(devel)\t\n")
	for i := range MaxGoModules + 1 {
		fmt.Fprintf(&mod, "dep\tgithub.com/x/y%d\tv1.0.0\th1:abc=\n", i)
	}
	mod.WriteString("\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2")
	section := append([]byte("\xff Go buildinf:\x08\x02"), make([]byte, 16)...)
	section = binary.AppendUvarint(section, uint64(len("go1.22.0")))
	section = append(section, "go1.22.0"...)
	section = binary.AppendUvarint(section, uint64(mod.Len()))
	section = append(section, mod.String()...)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "buildinfo"), section, 0o644))
	out := filepath.Join(dir, "many-modules")
	b, err := exec.Command(objcopy, "--update-section", ".go.buildinfo="+filepath.Join(dir, "buildinfo"), bin, out).CombinedOutput()
	require.NoError(t, err, "%s", b)
	info, err := buildinfo.ReadFile(out)
	require.NoError(t, err)
	require.Len(t, info.Deps, MaxGoModules+1, "debug/buildinfo reads every module")
	data, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.ErrorContains(t, preflight("go/binary", "usr/bin/app", image.BytesContent(data), nil), "modules")
}

// panicking is an extractor that fails the hard way on every file.
type panicking struct{ filesystem.Extractor }

func (panicking) Name() string { return "test/panicking" }
func (panicking) Extract(context.Context, *filesystem.ScanInput) (scalibrinv.Inventory, error) {
	var m map[string]int
	m["x"] = 1 // a nil-map write: what a parser bug on hostile bytes looks like
	return scalibrinv.Inventory{}, nil
}

// An extractor that panics on a file (some run in the layer walk's goroutines, where a
// panic would end the process) gives that file's error instead.
func TestExtractorPanicIsAnError(t *testing.T) {
	pkgs, err := extract(context.Background(), panicking{}, nil, &image.File{Path: "usr/bin/x"}, image.BytesContent([]byte("x")), nil)
	assert.Nil(t, pkgs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test/panicking failed on this file")
}

// count agrees with bytes.Count whatever the block boundaries cut.
func TestCountAcrossBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, rng.IntN(200_000))
		for i := range b {
			b[i] = "\n\nd\tep"[rng.IntN(6)]
		}
		for _, pat := range []string{"\n\n", "\ndep\t"} {
			n, err := count(iotest.HalfReader(bytes.NewReader(b)), []byte(pat))
			require.NoError(t, err)
			require.Equal(t, bytes.Count(b, []byte(pat)), n)
		}
	}
}
