package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/gunzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// openLayer returns the layer's tar stream. It reads the blob as stored (blob, when the
// source opens it itself; else the layer's Compressed() for sources that store blobs as
// pushed) and decompresses it itself, gzip with scanner/gunzip and zstd with
// klauspost's, both markedly faster than the standard library's. Where the source does
// not, it checks the blob's digest at the end of the stream (a docker-archive names no
// blob digests: the diff ID check covers it).
//
// With ahead, a compressed layer is decompressed by a goroutine of its own a few pieces
// ahead of its reader (readAhead): the walk asks it for the last layer it reads, which
// would otherwise be inflated and parsed on one core while the others have nothing left.
func openLayer(l v1.Layer, can Capabilities, blob func() (io.ReadCloser, error), ahead bool) (io.ReadCloser, error) {
	open := blob
	if open == nil {
		// A docker-archive may hold uncompressed layers, for which go-containerregistry
		// would compress on the fly: those are read Uncompressed().
		if !can.StoredCompressed {
			return l.Uncompressed()
		}
		open = l.Compressed
	}
	rc, err := open()
	if err != nil {
		return nil, err
	}
	var src io.Reader = rc
	if !can.VerifiedBlobs && blob == nil {
		if d, err := l.Digest(); err == nil && d.Algorithm == "sha256" {
			src = &digestReader{r: rc, h: sha256.New(), want: d.Hex}
		}
	}
	// A small buffer to look at the magic: a decompressor reads its own blocks straight
	// from the source past it. An uncompressed tar, read in 512-byte headers, gets a
	// large one.
	br := bufio.NewReaderSize(src, 4<<10)
	magic, _ := br.Peek(4)
	var out io.Reader
	var closeFn func()
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gunzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		out, closeFn = zr, func() { zr.Close() }
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			rc.Close()
			return nil, err
		}
		out, closeFn = zr, zr.Close
	default: // an uncompressed tar blob
		return &layerStream{Reader: bufio.NewReaderSize(br, 256<<10), closeFn: func() {}, rc: rc, src: src, br: br}, nil
	}
	s := &layerStream{Reader: out, closeFn: closeFn, rc: rc, src: src, br: br}
	if ahead {
		s.ahead = newReadAhead(out)
		s.Reader = s.ahead
	}
	return s, nil
}

type layerStream struct {
	io.Reader
	closeFn func()
	rc      io.Closer
	src     io.Reader
	br      *bufio.Reader
	ahead   *readAhead // the decompressing goroutine, if any
}

// Close releases the decompressor and the blob. A decompressing goroutine is told to stop
// and the blob closed (which ends a read it may be waiting on) before the decompressor,
// which the goroutine may be using until it has stopped, is released.
func (s *layerStream) Close() error {
	if s.ahead == nil {
		s.closeFn()
		return s.rc.Close()
	}
	s.ahead.stop()
	err := s.rc.Close()
	<-s.ahead.done
	s.closeFn()
	return err
}

// finish drains the rest of the blob (gzip trailers, padding) so that its digest is checked.
func (s *layerStream) finish() error {
	if _, err := io.Copy(io.Discard, s.Reader); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, s.br)
	return err
}

// readAhead reads a stream in a goroutine of its own, a piece of aheadPiece bytes at a
// time, up to aheadPieces pieces ahead of its reader, so that the stream's work
// (decompressing, its checksums) runs beside the reader's. The pieces are allocated once
// a stream; a piece is in free, in full, or being read from, so the goroutine never waits
// to hand one over.
type readAhead struct {
	full  chan []byte // pieces read, in order; closed after the last, err then set
	free  chan []byte
	piece []byte // the piece being read from
	rest  []byte // what of it is not read yet
	err   error  // the stream's error after the last piece (io.EOF at its end)
	quit  chan struct{}
	once  sync.Once
	done  chan struct{} // closed when the goroutine has returned
}

const (
	aheadPiece  = 256 << 10
	aheadPieces = 3
)

func newReadAhead(r io.Reader) *readAhead {
	a := &readAhead{full: make(chan []byte, aheadPieces), free: make(chan []byte, aheadPieces), quit: make(chan struct{}), done: make(chan struct{})}
	for range aheadPieces {
		a.free <- make([]byte, aheadPiece)
	}
	go a.fill(r)
	return a
}

// fill reads r into free pieces until r ends or fails, or the reader stops. A panic
// (decompressing an image's bytes) would end the process from this goroutine: it ends the
// stream with exit 3 instead.
func (a *readAhead) fill(r io.Reader) {
	defer close(a.done)
	defer close(a.full)
	defer func() {
		if p := recover(); p != nil {
			a.err = failure.Incompletef("internal error while decompressing the layer: %v (please report this)", p)
		}
	}()
	for {
		var b []byte
		select {
		case b = <-a.free:
		case <-a.quit:
			a.err = errReadAheadStopped
			return
		}
		// Not io.ReadFull, which would turn a stream's own io.ErrUnexpectedEOF (a
		// truncated gzip stream) after a part of a piece into one it made itself.
		n, err := 0, error(nil)
		for n < len(b) && err == nil {
			var k int
			k, err = r.Read(b[n:])
			n += k
		}
		if n > 0 {
			a.full <- b[:n]
		}
		if err != nil {
			a.err = err
			return
		}
	}
}

var errReadAheadStopped = errors.New("read after the layer stream was closed")

// Read implements io.Reader.
func (a *readAhead) Read(p []byte) (int, error) {
	for len(a.rest) == 0 {
		if a.piece != nil {
			a.free <- a.piece[:cap(a.piece)]
			a.piece = nil
		}
		b, ok := <-a.full
		if !ok {
			return 0, a.err
		}
		a.piece, a.rest = b, b
	}
	n := copy(p, a.rest)
	a.rest = a.rest[n:]
	return n, nil
}

// stop tells the goroutine to read no further; it returns at once (the goroutine may
// still be in a read: done says when it has returned).
func (a *readAhead) stop() { a.once.Do(func() { close(a.quit) }) }

// digestReader checks a sha256 digest when the stream ends.
type digestReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	want string
	// mismatch makes the error (default: a blob digest mismatch). With it set, Read
	// leaves the check to Check, so that a stream that ends early is reported as such by
	// its reader first.
	mismatch func(got string) error
	done     bool
}

// Check compares the digest of what was read with the one wanted.
func (d *digestReader) Check() error {
	if got := hex.EncodeToString(d.h.Sum(nil)); got != d.want {
		return d.mismatch(got)
	}
	return nil
}

func (d *digestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	if err == io.EOF && !d.done && d.mismatch == nil {
		d.done = true
		if got := hex.EncodeToString(d.h.Sum(nil)); got != d.want {
			return n, fmt.Errorf("blob digest mismatch: sha256:%s, manifest says sha256:%s", got, d.want)
		}
	}
	return n, err
}

// asyncHash feeds a hash from a goroutine of its own, in 256 KiB batches, so that hashing
// a layer (its diff ID check) runs beside parsing it instead of in series: on two cores a
// single-layer image is read nearly a third faster.
type asyncHash struct {
	h    hash.Hash
	buf  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	sum  []byte
}

const asyncHashBatch = 256 << 10

func newAsyncHash(h hash.Hash) *asyncHash {
	a := &asyncHash{h: h, full: make(chan []byte, 3), free: make(chan []byte, 4), done: make(chan struct{})}
	for range 4 {
		a.free <- make([]byte, 0, asyncHashBatch)
	}
	a.buf = <-a.free
	go func() {
		defer close(a.done)
		for b := range a.full {
			a.h.Write(b)
			a.free <- b[:0]
		}
	}()
	return a
}

// Write implements io.Writer; it never fails.
func (a *asyncHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		c := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf, p = a.buf[:len(a.buf)+c], p[c:]
		if len(a.buf) == cap(a.buf) {
			a.full <- a.buf
			a.buf = <-a.free
		}
	}
	return n, nil
}

// Sum returns the digest of everything written; nothing may be written after it.
func (a *asyncHash) Sum(b []byte) []byte {
	if a.sum == nil {
		if len(a.buf) > 0 {
			a.full <- a.buf
		}
		close(a.full)
		<-a.done
		a.sum = a.h.Sum(nil)
	}
	return append(b, a.sum...)
}

// Close stops the hashing goroutine of a stream abandoned before its end.
func (a *asyncHash) Close() {
	if a.sum == nil {
		a.Sum(nil)
	}
}
