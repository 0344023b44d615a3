package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"

	"github.com/imagegate/imagegate/failure"
)

// ConsumeInMemory is the largest file a consumer is handed in memory (the layer's
// scratch buffer). A larger file that only consumers see (a binary: node is 100 MB) is
// written to a temporary file, one such file at a time in the whole walk, and the
// consumers read it from there through ReadAt: no buffer grows with the image's largest
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

// consumeSpooled copies a file of size bytes (head already read from r) to a temporary
// file and hands it to the consumers.
func consumeSpooled(ctx context.Context, r io.Reader, head []byte, size int64, f *File, consumers []Consumer, o *walkOptions) error {
	tmp, err := os.CreateTemp("", "imagegate-file-*")
	if err != nil {
		return failure.Incompletef("a temporary file for %s: %w", f.Path, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := &spoolWriter{w: tmp}
	if _, err := w.Write(head); err == nil {
		_, err = io.CopyN(w, r, size-int64(len(head)))
	}
	if w.err != nil {
		return failure.Incompletef("writing %s to a temporary file: %w", f.Path, w.err)
	}
	if err != nil {
		return unexpected(err)
	}
	select {
	case o.spooled <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-o.spooled }()
	for _, c := range consumers {
		c.Consume(ctx, f, Content{ReaderAt: tmp, Size: size})
	}
	return nil
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
