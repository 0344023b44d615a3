package image

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/imagegate/imagegate/failure"
)

// KeepInMemory is how many bytes of kept files (package databases, manifests, account
// files) one walk holds in memory. The kept files past it wait in one temporary file of
// the walk's, read back through ReadAt when the analyzers ask: a scan's memory does not
// grow with an image's package databases, only its disk use does, and that is bounded
// by the retained-bytes limit (WithMaxRetained). 8 MiB holds a full Debian or Alpine
// system's databases, and leaves a scan within 64 MiB.
const KeepInMemory = 8 << 20

// keptFiles holds the bytes of one walk's kept files: the first keepInMemory bytes in
// memory, the rest in a temporary file, each file at a range of it reserved when the file
// is stored (layers store concurrently).
type keptFiles struct {
	keepInMemory int64
	inMemory     atomic.Int64
	total        atomic.Int64 // every kept byte, in memory or not: the retained-bytes limit's count

	mu   sync.Mutex
	file *os.File // created at the first file past keepInMemory, unlinked at once
	end  atomic.Int64
	// readErr is the first error reading a kept file back: the walk's kept files are then
	// not whole, and the index says so (Index.Incomplete).
	readErr atomic.Pointer[error]
}

// keptRange is where a kept file waits in the walk's temporary file.
type keptRange struct {
	store *keptFiles
	off   int64
	size  int64
}

// ReadAt reads the kept file's bytes; an error is also recorded in its store.
func (k *keptRange) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("kept file: negative offset")
	}
	if off >= k.size {
		return 0, io.EOF
	}
	want := p[:min(int64(len(p)), k.size-off)]
	n, err := k.store.file.ReadAt(want, k.off+off)
	if n == len(want) {
		err = nil
		if len(want) < len(p) {
			err = io.EOF
		}
	} else if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		err = fmt.Errorf("reading a kept file back from its temporary file: %w", err)
		k.store.readErr.CompareAndSwap(nil, &err)
	}
	return n, err
}

// store keeps a file of size bytes, head already read from r: in memory while the walk's
// kept files fit keepInMemory, else in the temporary file. The content it returns is the
// consumers' view of the same bytes.
func (k *keptFiles) store(f *File, head []byte, r io.Reader, size int64, buf []byte) (Content, error) {
	if k.fits(size) {
		data := make([]byte, size)
		n := copy(data, head)
		if _, err := io.ReadFull(r, data[n:]); err != nil {
			return Content{}, unexpected(err)
		}
		f.setData(data)
		return BytesContent(data), nil
	}
	return k.spill(f, head, r, size, buf)
}

// fits takes size bytes of the memory budget, or says they do not fit.
func (k *keptFiles) fits(size int64) bool {
	if k.inMemory.Add(size) <= k.keepInMemory {
		return true
	}
	k.inMemory.Add(-size)
	return false
}

// spill writes a file of size bytes (head, then the rest from r, copied through buf) to
// its range of the temporary file.
func (k *keptFiles) spill(f *File, head []byte, r io.Reader, size int64, buf []byte) (Content, error) {
	file, err := k.open()
	if err != nil {
		return Content{}, failure.Incompletef("a temporary file for the kept file %s: %w", f.Path, err)
	}
	off := k.end.Add(size) - size
	if werr, rerr := writeFile(file, off, head, r, size, buf); werr != nil {
		return Content{}, failure.Incompletef("writing the kept file %s to a temporary file: %w", f.Path, werr)
	} else if rerr != nil {
		return Content{}, unexpected(rerr)
	}
	kr := &keptRange{store: k, off: off, size: size}
	f.keepRange(kr)
	return Content{ReaderAt: kr, Size: size}, nil
}

// storeBytes keeps data already in memory (a layer from the layer cache): it stays there
// while the walk's kept files fit keepInMemory, else it is written out.
func (k *keptFiles) storeBytes(f *File, data []byte) error {
	if k.fits(int64(len(data))) {
		f.setData(data)
		return nil
	}
	_, err := k.spill(f, data, bytes.NewReader(nil), int64(len(data)), nil)
	return err
}

// open returns the temporary file, creating it the first time. It is unlinked at once:
// nothing is left behind however the run ends; Index.Close closes it.
func (k *keptFiles) open() (*os.File, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.file == nil {
		f, err := os.CreateTemp("", "imagegate-kept-*")
		if err != nil {
			return nil, err
		}
		os.Remove(f.Name()) // where unlinking an open file is refused, the run's folder is removed at its end
		k.file = f
	}
	return k.file, nil
}

func (k *keptFiles) close() error {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.file == nil {
		return nil
	}
	return k.file.Close()
}

// readError is the first error reading a kept file back, if any.
func (k *keptFiles) readError() error {
	if k == nil {
		return nil
	}
	if e := k.readErr.Load(); e != nil {
		return *e
	}
	return nil
}
