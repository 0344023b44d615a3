package gunzip

import (
	"archive/tar"
	"bytes"
	"cmp"
	stdgzip "compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
)

// layer is a gzip layer of real files, as images hold them: this machine's Go toolchain
// (its sources, text, and its tools, binaries), about 64 MiB before compression,
// compressed by klauspost/compress at its default level (what go-containerregistry and
// most builders write). Made once per test binary.
var layer = sync.OnceValues(func() ([]byte, error) {
	var tarred bytes.Buffer
	tw := tar.NewWriter(&tarred)
	root := runtime.GOROOT()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || tarred.Len() > 64<<20 {
			return cmp.Or(err, filepath.SkipAll) // full: the rest of GOROOT is not walked
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw := kgzip.NewWriter(&gz)
	if _, err := zw.Write(tarred.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
})

// BenchmarkInflate decodes the layer with this package and, side by side, with the two
// other Go inflaters (ns/op and MB/s of output: compare the rows).
func BenchmarkInflate(b *testing.B) {
	gz, err := layer()
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range []struct {
		name string
		open func(io.Reader) (io.Reader, error)
	}{
		{"gunzip", func(r io.Reader) (io.Reader, error) { return NewReader(r) }},
		{"klauspost", func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) }},
		{"stdlib", func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) }},
	} {
		b.Run(r.name, func(b *testing.B) {
			var n int64
			for b.Loop() {
				zr, err := r.open(bytes.NewReader(gz))
				if err != nil {
					b.Fatal(err)
				}
				if n, err = io.Copy(io.Discard, zr); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(n)
		})
	}
}

// TestDecodesRealFiles decodes the benchmark's layer and compares it with the standard
// library's reading.
func TestDecodesRealFiles(t *testing.T) {
	gz, err := layer()
	if err != nil {
		t.Fatal(err)
	}
	want, err := std(gz)
	require.NoError(t, err)
	got, err := ours(gz, false)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "decoded %d bytes, the standard library %d", len(got), len(want))
}
