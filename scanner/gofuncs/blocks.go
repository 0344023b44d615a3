package gofuncs

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// blocks reads a binary through ReadAt a block at a time, keeping the last maxBlocks
// blocks read: the tables are read nearly in order (the function table, each function's
// entry, its pc-value and inline tables; names repeat), so a binary of any size is read
// about once with a bounded buffer, and never held whole.
type blocks struct {
	r     io.ReaderAt
	size  int64
	held  map[int64][]byte // by block number
	order []int64          // block numbers, oldest first
	err   error            // the first read error: the reading stops at it
	// last is block lastN while it is held: the pc-value tables are read a byte at a
	// time, nearly always from the block the byte before was in.
	last  []byte
	lastN int64
}

const (
	blockSize = 64 << 10
	maxBlocks = 32 // 2 MiB
)

func newBlocks(r io.ReaderAt, size int64) *blocks {
	return &blocks{r: r, size: size, held: map[int64][]byte{}}
}

// blockPool keeps blocks between binaries: an image's Go binaries are read one after
// another, and their blocks would be garbage each time.
var blockPool = sync.Pool{New: func() any { b := make([]byte, blockSize); return &b }}

// release gives the held blocks back to the pool: nothing read from them may be used
// after (the table's names are copies).
func (b *blocks) release() {
	for n, blk := range b.held {
		blk = blk[:cap(blk)]
		blockPool.Put(&blk)
		delete(b.held, n)
	}
	b.order, b.last = nil, nil
}

// block returns block n, reading it when it is not held (nil after a read error).
func (b *blocks) block(n int64) []byte {
	if b.last != nil && n == b.lastN {
		return b.last
	}
	if blk, ok := b.held[n]; ok {
		b.last, b.lastN = blk, n
		return blk
	}
	if b.err != nil {
		return nil
	}
	b.last = nil // it may be the block evicted below, its array then read over
	var blk []byte
	if len(b.order) >= maxBlocks {
		old := b.order[0]
		b.order = b.order[1:]
		blk = b.held[old][:0]
		delete(b.held, old)
	} else {
		blk = (*blockPool.Get().(*[]byte))[:0]
	}
	off := n * blockSize
	want := min(blockSize, b.size-off)
	if want <= 0 {
		return nil
	}
	blk = blk[:want]
	if k, err := b.r.ReadAt(blk, off); k < len(blk) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		b.err = err
		return nil
	}
	b.held[n] = blk
	b.order = append(b.order, n)
	b.last, b.lastN = blk, n
	return blk
}

// read copies the n bytes at off into dst's array (grown when short) and returns them;
// nil when they are not all in the file.
func (b *blocks) read(dst []byte, off, n int64) []byte {
	if off < 0 || n < 0 || off > b.size || n > b.size-off {
		return nil
	}
	dst = dst[:0]
	for n > 0 {
		blk := b.block(off / blockSize)
		at := off % blockSize
		if at >= int64(len(blk)) {
			return nil
		}
		c := min(n, int64(len(blk))-at)
		dst = append(dst, blk[at:at+c]...)
		off, n = off+c, n-c
	}
	if dst == nil {
		dst = []byte{}
	}
	return dst
}

// byteReader reads bytes from off, at most n of them.
type byteReader struct {
	b      *blocks
	off, n int64
}

func (b *blocks) reader(off, n int64) *byteReader { return &byteReader{b, off, n} }

// ReadByte implements io.ByteReader.
func (r *byteReader) ReadByte() (byte, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	blk := r.b.block(r.off / blockSize)
	at := r.off % blockSize
	if at >= int64(len(blk)) {
		return 0, io.ErrUnexpectedEOF
	}
	r.off, r.n = r.off+1, r.n-1
	return blk[at], nil
}

// scan calls fn with the address of each place pat is in segment s, in order, while fn
// returns true. The segment is read a pool block at a time (not through the held blocks:
// a scan reads on past them), each read overlapping the last by len(pat)-1 bytes.
func (b *blocks) scan(s segment, pat []byte, fn func(addr uint64) bool) {
	bp := blockPool.Get().(*[]byte)
	defer blockPool.Put(bp)
	buf := *bp
	chunk := len(buf) - (len(pat) - 1)
	end := min(int64(s.off+s.size), b.size)
	for start := int64(s.off); start < end && b.err == nil; start += int64(chunk) {
		part := buf[:min(int64(len(buf)), end-start)]
		if k, err := b.r.ReadAt(part, start); k < len(part) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			b.err = err
			return
		}
		for i := 0; ; i++ {
			j := bytes.Index(part[i:], pat)
			if j < 0 || i+j >= chunk { // a match starting past the chunk is the next one's
				break
			}
			i += j
			if !fn(s.addr + uint64(start-int64(s.off)) + uint64(i)) {
				return
			}
		}
	}
}

// failed is err, or the read error that stopped the reading (a binary that could not be
// read is not one that has no table).
func (b *blocks) failed(err error) error {
	if b.err != nil {
		return fmt.Errorf("reading the binary: %w", b.err)
	}
	return err
}
