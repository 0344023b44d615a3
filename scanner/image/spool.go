package image

import (
	"context"
	"io"
	"os"

	"github.com/imagegate/imagegate/failure"
)

// ConsumeInMemory is the largest file a consumer is handed from memory (the layer's
// scratch buffer). A larger file that only consumers see (a binary: node is 100 MB) is
// written to a temporary file and handed to them mapped from it, one such file at a time
// in the whole walk, so that no buffer grows with the image's largest file: the process
// holds only the pages the consumers touch (a binary's headers and build info; a Go
// binary's function tables), and the kernel's page cache holds the rest.
const ConsumeInMemory = 2 << 20

// consumeSpooled copies a file of size bytes (head already read from r) to a temporary
// file and hands it, mapped, to the consumers.
func consumeSpooled(ctx context.Context, r io.Reader, head []byte, size int64, f *File, consumers []Consumer, o *walkOptions) error {
	tmp, err := os.CreateTemp("", "imagegate-file-*")
	if err != nil {
		return failure.Incompletef("a temporary file for %s: %w", f.Path, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := &spoolWriter{f: tmp}
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
	data, unmap, err := mapFile(tmp, size)
	if err != nil {
		return failure.Incompletef("mapping %s from its temporary file: %w", f.Path, err)
	}
	defer unmap()
	for _, c := range consumers {
		c.Consume(ctx, f, data)
	}
	return nil
}

// spoolWriter keeps its file's write error apart from the source's read errors.
type spoolWriter struct {
	f   *os.File
	err error
}

func (w *spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}
