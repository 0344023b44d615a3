package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"

	"github.com/imagegate/imagegate/failure"
)

// ConsumeInMemory is the largest file a consumer is handed in memory (the reading
// goroutine's scratch buffer). A larger file that only consumers see (a binary: node is
// 100 MB) is written to the goroutine's temporary file, over the one before, consumed one
// such file at a time in the whole walk, and the consumers read it from there through ReadAt: no buffer grows with the image's largest
// file, and what the consumers do not read (most of a binary) is never in the process's
// memory.
const ConsumeInMemory = 2 << 20

// Content is a file's bytes as a consumer is handed them: read through ReadAt (Size of
// them), and whole in memory for files up to ConsumeInMemory.
type Content struct {
	io.ReaderAt
	Size  int64
	bytes []byte
}

// BytesContent is the content of a file held in memory.
func BytesContent(b []byte) Content {
	return Content{ReaderAt: bytes.NewReader(b), Size: int64(len(b)), bytes: b}
}

// Bytes returns the whole file when it is in memory, else nil.
func (c Content) Bytes() []byte { return c.bytes }

// ReadAll returns the whole content: the bytes in memory, else read through ReadAt.
func (c Content) ReadAll() ([]byte, error) {
	if c.bytes != nil || c.Size == 0 {
		return c.bytes, nil
	}
	b := make([]byte, c.Size)
	if n, err := c.ReadAt(b, 0); n < len(b) { // a whole read may come with io.EOF
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// Reader reads the content from its start.
func (c Content) Reader() *io.SectionReader { return io.NewSectionReader(c, 0, c.Size) }

// consumeSpooled copies a file of size bytes (head already read from r) to the reading
// goroutine's spool file and hands it to the consumers. The file is written over the
// previous one, not made anew: rewriting pages the system already holds for it cost a
// third of what allocating and freeing them for each binary did. It is unlinked as soon
// as it is made, so nothing is left behind however the run ends (where unlinking an open
// file is refused, the run's folder is removed at its end).
func consumeSpooled(ctx context.Context, r io.Reader, head []byte, size int64, f *File, consumers []Consumer, o *walkOptions, buf *buffers) error {
	if buf.spool == nil {
		tmp, err := os.CreateTemp("", "imagegate-file-*")
		if err != nil {
			return failure.Incompletef("a temporary file for %s: %w", f.Path, err)
		}
		os.Remove(tmp.Name())
		buf.spool = tmp
	}
	if werr, rerr := writeFile(buf.spool, 0, head, r, size, buf.copyBuffer()); werr != nil {
		return failure.Incompletef("writing %s to a temporary file: %w", f.Path, werr)
	} else if rerr != nil {
		return unexpected(rerr)
	}
	select {
	case o.spooled <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-o.spooled }()
	// Bounded at size: what an earlier, longer file left past it is never read.
	content := Content{ReaderAt: io.NewSectionReader(buf.spool, 0, size), Size: size}
	for _, c := range consumers {
		c.Consume(ctx, f, content)
	}
	return nil
}

// writeFile writes a file of size bytes, head then the rest from r, at off in file,
// copying through buf. The file's write error (the scan's own temporary file: incomplete)
// is kept apart from r's read error (the layer's).
func writeFile(file *os.File, off int64, head []byte, r io.Reader, size int64, buf []byte) (writeErr, readErr error) {
	w := &spoolWriter{w: io.NewOffsetWriter(file, off)}
	_, err := w.Write(head)
	if err == nil {
		var n int64
		n, err = io.CopyBuffer(w, io.LimitReader(r, size-int64(len(head))), buf)
		if err == nil && n < size-int64(len(head)) {
			err = io.ErrUnexpectedEOF
		}
	}
	if w.err != nil {
		return w.err, nil
	}
	return nil, err
}

// spoolWriter keeps its file's write error apart from the source's read errors.
type spoolWriter struct {
	w   io.Writer
	err error
}

func (w *spoolWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}
