package gunzip

import (
	"bytes"
	stdgzip "compress/gzip"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// std decodes data with the standard library's gzip reader (several members, as ours).
func std(data []byte) ([]byte, error) {
	r, err := stdgzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func ours(data []byte, chunked bool) ([]byte, error) {
	var src io.Reader = bytes.NewReader(data)
	if chunked {
		src = &oneByte{src}
	}
	r, err := NewReader(src)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// oneByte hands out its source a byte at a time, the slowest way in.
type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// agree checks that both readers accept data and give the same bytes, or both refuse it.
func agree(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := std(data)
	for _, chunked := range []bool{false, true} {
		got, err := ours(data, chunked)
		if wantErr != nil {
			require.Error(t, err, "the standard library refuses this stream (%v); ours accepted it", wantErr)
			continue
		}
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "decoded %d bytes, the standard library %d", len(got), len(want))
	}
}

// corpus is data of the kinds layers hold: text, runs, random bytes, repeated blocks.
func corpus(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	words := []string{"package ", "func ", "return ", "\n\t", "error", "nil", "imagegate ", "{\n", "}\n"}
	for b.Len() < n {
		switch rng.IntN(5) {
		case 0:
			for range rng.IntN(200) {
				b.WriteString(words[rng.IntN(len(words))])
			}
		case 1:
			b.Write(bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(3000)))
		case 2:
			p := make([]byte, rng.IntN(5000))
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			b.Write(p)
		case 3:
			if b.Len() > 0 {
				start := rng.IntN(b.Len())
				b.Write(bytes.Clone(b.Bytes()[start:min(b.Len(), start+rng.IntN(40000))]))
			}
		default:
			pat := make([]byte, 2+rng.IntN(7))
			for i := range pat {
				pat[i] = byte(rng.Uint32())
			}
			b.Write(bytes.Repeat(pat, rng.IntN(500)))
		}
	}
	return b.Bytes()[:n]
}

func compress(t testing.TB, data []byte, level int, hdr stdgzip.Header) []byte {
	var b bytes.Buffer
	w, err := stdgzip.NewWriterLevel(&b, level)
	require.NoError(t, err)
	w.Header = hdr
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestDecodesEveryLevel(t *testing.T) {
	for i, level := range []int{stdgzip.HuffmanOnly, stdgzip.NoCompression, 1, 2, 5, 6, 9} {
		for _, n := range []int{0, 1, 100, 70000, 3 << 20} {
			data := corpus(uint64(i*10+n), n)
			gz := compress(t, data, level, stdgzip.Header{})
			got, err := ours(gz, false)
			require.NoError(t, err, "level %d, %d bytes", level, n)
			require.True(t, bytes.Equal(data, got), "level %d, %d bytes: output differs", level, n)
		}
	}
}

func TestHeaderFieldsAndMembers(t *testing.T) {
	a := compress(t, corpus(1, 50000), 6, stdgzip.Header{Name: "a.tar", Comment: "first", Extra: []byte("xx")})
	b := compress(t, corpus(2, 80000), 1, stdgzip.Header{})
	c := compress(t, nil, 9, stdgzip.Header{Name: "empty"})
	whole := append(append(append([]byte{}, a...), b...), c...)
	agree(t, whole)
	got, err := ours(whole, false)
	require.NoError(t, err)
	require.Equal(t, 130000, len(got))

	// The header CRC (FHCRC), set by hand: compress/gzip never writes one.
	h := []byte{0x1f, 0x8b, 8, flagHdrCrc, 0, 0, 0, 0, 0, 255}
	sum := crc32.ChecksumIEEE(h)
	withCRC := append(append(h, byte(sum), byte(sum>>8)), b[10:]...)
	agree(t, withCRC)
	withCRC[10] ^= 1
	_, err = ours(withCRC, false)
	require.ErrorIs(t, err, ErrHeader)
}

func TestRefusesWhatTheStandardLibraryRefuses(t *testing.T) {
	gz := compress(t, corpus(3, 20000), 6, stdgzip.Header{Name: "n"})
	// Cut short anywhere: an error, never a stream that ends cleanly.
	for n := 1; n < len(gz); n += 1 + n/50 {
		_, err := ours(gz[:n], false)
		require.Error(t, err, "cut at %d of %d", n, len(gz))
	}
	// The trailer's CRC and size are checked.
	for _, at := range []int{len(gz) - 8, len(gz) - 1} {
		bad := bytes.Clone(gz)
		bad[at] ^= 0x40
		_, err := ours(bad, false)
		require.ErrorIs(t, err, ErrChecksum)
	}
	// Trailing bytes that are not a member.
	_, err := ours(append(bytes.Clone(gz), 0, 0, 0, 0), false)
	require.Error(t, err)
	// Every single-bit flip: both readers agree on whether it decodes, and on what.
	small := compress(t, corpus(4, 3000), 6, stdgzip.Header{})
	for i := range len(small) * 8 {
		bad := bytes.Clone(small)
		bad[i/8] ^= 1 << (i % 8)
		agree(t, bad)
	}
}

func FuzzAgreesWithStandardLibrary(f *testing.F) {
	f.Add(compress(f, corpus(5, 5000), 6, stdgzip.Header{}))
	f.Add(compress(f, corpus(6, 5000), stdgzip.HuffmanOnly, stdgzip.Header{}))
	f.Add(compress(f, corpus(7, 500), 1, stdgzip.Header{Name: "x", Comment: "y", Extra: []byte{1}}))
	f.Add(compress(f, corpus(8, 300), stdgzip.NoCompression, stdgzip.Header{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := std(data)
		got, err := ours(data, false)
		if wantErr != nil {
			if err == nil {
				t.Fatalf("the standard library refuses this stream (%v); ours accepted it", wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("the standard library decodes this stream; ours refused it: %v", err)
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("decoded %d bytes, the standard library %d, and they differ", len(got), len(want))
		}
	})
}

// TestDecodesGNUGzip decodes streams another compressor made (GNU gzip: its own block
// splitting and lazy matching), compared with the standard library's reading.
func TestDecodesGNUGzip(t *testing.T) {
	files, err := filepath.Glob("testdata/*.gz")
	require.NoError(t, err)
	require.Len(t, files, 2)
	check := func(name string, data []byte) {
		want, err := std(data)
		require.NoError(t, err, name)
		got, err := ours(data, false)
		require.NoError(t, err, name)
		require.True(t, bytes.Equal(want, got), "%s: decoded %d bytes, the standard library %d", name, len(got), len(want))
	}
	var both []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		check(f, data)
		both = append(both, data...)
	}
	check("both, one member after the other", both)
}

// TestWriteToStopsOnAShortWrite: a writer that takes nothing and says nothing is an error,
// not a loop.
func TestWriteToStopsOnAShortWrite(t *testing.T) {
	r, err := NewReader(bytes.NewReader(compress(t, corpus(9, 1000), 6, stdgzip.Header{})))
	require.NoError(t, err)
	_, err = r.WriteTo(nothingWriter{})
	require.ErrorIs(t, err, io.ErrShortWrite)
}

type nothingWriter struct{}

func (nothingWriter) Write([]byte) (int, error) { return 0, nil }

// TestSyncFlushes decodes a stream written with a flush after every piece (pigz and other
// parallel compressors do so): each flush is an empty stored block.
func TestSyncFlushes(t *testing.T) {
	data := corpus(10, 200000)
	var b bytes.Buffer
	w := stdgzip.NewWriter(&b)
	for p := data; len(p) > 0; {
		n := min(len(p), 1+len(p)%7919)
		_, err := w.Write(p[:n])
		require.NoError(t, err)
		require.NoError(t, w.Flush())
		p = p[n:]
	}
	require.NoError(t, w.Close())
	require.Greater(t, bytes.Count(b.Bytes(), []byte{0, 0, 0xff, 0xff}), 10, "the stream holds its empty stored blocks")
	got, err := ours(b.Bytes(), false)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
}
