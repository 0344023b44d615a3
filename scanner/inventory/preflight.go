package inventory

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargoauditable"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	"github.com/imagegate/imagegate/scanner/image"
)

// Bounds on what an extractor would build from a small input: each is checked before the
// extractor sees the file, and a file past one is not analysed (the scan is incomplete)
// instead of exhausting memory.
const (
	MaxPackageStanzas  = 200_000  // packages in one dpkg or apk database
	MaxGoModules       = 100_000  // modules in one Go binary's build info
	MaxAuditableBytes  = 16 << 20 // a cargo-auditable .dep-v0 section, decompressed
	MaxWheelMemberSize = 16 << 20 // one member of a Python wheel or egg, uncompressed
	MaxWheelTotalSize  = 256 << 20
	// MaxGoTableBytes bounds the Go binaries' function tables one scan keeps until
	// matching (8 bytes a function: a 54 MB binary's is ~0.4 MiB, so about twenty such
	// binaries). A binary past it keeps none: the reachability of its vulnerabilities is
	// unknown (gated as reachable), and the warnings say how many.
	MaxGoTableBytes = 8 << 20
)

// preflight refuses an input that would make the named extractor build far more than the
// input's size suggests (a zlib bomb in a section, a zip of huge members, a million
// stanzas). It reads the content through ReadAt: a large binary is not in memory. ef is
// the binary's ELF headers when the caller read them (nil: read here if needed).
// errNothingToRead says the extractor would find nothing in the file, certainly.
func preflight(extractor, p string, c image.Content, ef *elf.File) error {
	switch extractor {
	case dpkg.Name, apk.Name:
		if n, err := countIn(c, []byte("\n\n")); err != nil || n > MaxPackageStanzas {
			return stanzasError(n, err)
		}
	case gobinary.Name:
		if n, err := countIn(goBuildInfo(c, ef), []byte("\ndep\t")); err != nil || n > MaxGoModules {
			return modulesError(n, err)
		}
	case cargoauditable.Name:
		return auditableSection(c, ef)
	case wheelegg.Name:
		ext := path.Ext(p)
		if ext == ".whl" || ext == ".egg" {
			return zipMembers(c)
		}
	}
	return nil
}

func stanzasError(n int, err error) error {
	if err != nil {
		return fmt.Errorf("reading the database: %w", err)
	}
	return fmt.Errorf("%d package entries, over the limit of %d", n, MaxPackageStanzas)
}

func modulesError(n int, err error) error {
	if err != nil {
		return fmt.Errorf("reading the build info: %w", err)
	}
	return fmt.Errorf("build info lists %d modules, over the limit of %d", n, MaxGoModules)
}

// countIn is bytes.Count over the content: over its bytes when they are in memory, else
// over what its reader reads.
func countIn(c image.Content, pat []byte) (int, error) {
	if b := c.Bytes(); b != nil || c.Size == 0 {
		return bytes.Count(b, pat), nil
	}
	return count(c.Reader(), pat)
}

// count is bytes.Count over what r reads, a block at a time.
func count(r io.Reader, pat []byte) (int, error) {
	buf := make([]byte, 0, 64<<10+len(pat))
	n := 0
	for {
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		next := 0
		for {
			i := bytes.Index(buf[next:], pat)
			if i < 0 {
				break
			}
			n, next = n+1, next+i+len(pat)
		}
		// Keep what may begin a match the next block completes.
		keep := max(next, len(buf)-(len(pat)-1))
		buf = buf[:copy(buf, buf[keep:])]
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// goBuildInfo is the part of a binary that can hold its Go build info: an ELF file's
// .go.buildinfo section when the build info is inline in it (Go 1.18 and later); nothing
// for a file with ELF's magic that debug/elf cannot read (debug/buildinfo cannot either),
// or with section headers and no .go.buildinfo (Go's linker writes it since Go 1.13:
// node, a C library); else the whole file. Counting modules over every byte of every
// library of an image cost more than reading them.
func goBuildInfo(c image.Content, ef *elf.File) image.Content {
	none := image.BytesContent(nil)
	var magic [4]byte
	if _, err := c.ReadAt(magic[:], 0); err != nil || string(magic[:]) != elf.ELFMAG {
		return c
	}
	f, err := ef, error(nil)
	if f == nil {
		if f, err = elf.NewFile(c); err != nil {
			return none
		}
	}
	s := f.Section(".go.buildinfo")
	if s == nil && len(f.Sections) > 1 { // the first section header is the null one
		return none
	}
	if s == nil || s.Type == elf.SHT_NOBITS {
		return c
	}
	b, err := io.ReadAll(io.LimitReader(s.Open(), c.Size))
	const buildInfoMagic = "\xff Go buildinf:"
	if err != nil || len(b) < 32 || string(b[:len(buildInfoMagic)]) != buildInfoMagic || b[15]&2 == 0 {
		return c // the build info is elsewhere (pointers, before Go 1.18)
	}
	return image.BytesContent(b)
}

// auditableSection checks that the section go-rustaudit reads from an ELF binary (.dep-v0,
// else .rust-deps-v0: zlib-compressed JSON) decompresses within MaxAuditableBytes, and
// says errNothingToRead when the binary has neither.
func auditableSection(c image.Content, ef *elf.File) error {
	f, err := ef, error(nil)
	if f == nil {
		if f, err = elf.NewFile(c); err != nil {
			return nil // not ELF: the extractor decides
		}
	}
	// The sections go-rustaudit reads from an ELF file, in its order; without either it
	// finds nothing (ErrNoRustDepInfo, no packages), which most binaries are.
	s := f.Section(".dep-v0")
	if s == nil {
		s = f.Section(".rust-deps-v0")
	}
	if s == nil {
		return errNothingToRead
	}
	zr, err := zlib.NewReader(s.Open())
	if err != nil {
		return nil
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(zr, MaxAuditableBytes+1))
	if n > MaxAuditableBytes {
		return fmt.Errorf("its %s section expands past %d bytes (a zlib bomb?)", s.Name, MaxAuditableBytes)
	}
	return nil
}

// errNothingToRead is preflight's word that the extractor would find no packages in the
// file, certainly: it is not asked.
var errNothingToRead = errors.New("no packages for this extractor")

// zipMembers checks a wheel's or egg's declared member sizes.
func zipMembers(c image.Content) error {
	zr, err := zip.NewReader(c, c.Size)
	if err != nil {
		return nil
	}
	var total uint64
	for _, m := range zr.File {
		if m.UncompressedSize64 > MaxWheelMemberSize && (strings.HasSuffix(m.Name, "METADATA") || strings.HasSuffix(m.Name, "PKG-INFO")) {
			return fmt.Errorf("member %s is %d bytes uncompressed, over the limit of %d", m.Name, m.UncompressedSize64, MaxWheelMemberSize)
		}
		if total += m.UncompressedSize64; total > MaxWheelTotalSize {
			return fmt.Errorf("members add up to more than %d bytes uncompressed", MaxWheelTotalSize)
		}
	}
	return nil
}
