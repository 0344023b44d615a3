// Package userfile opens the files a user names (a Dockerfile and its .dockerignore, the
// config, a VEX document, an SBOM, an image archive, OSV exports): only regular files, a
// symlink to one included, never a device, FIFO or socket, and never more than a limit.
// /dev/zero, /dev/urandom or a FIFO given anywhere then ends in one clear input error
// (exit 2) instead of an out-of-memory or a hang.
package userfile

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/imagegate/imagegate/failure"
)

// Open opens path for reading if it is a regular file. what names the file in messages
// ("dockerfile", "vex", ...).
func Open(path, what string) (*os.File, os.FileInfo, error) {
	st, err := os.Stat(path) // follows symlinks: what they point at must be regular too
	if err != nil {
		return nil, nil, failure.Inputf("%s %s: %w", what, path, unwrap(err))
	}
	if err := regular(st, path, what); err != nil {
		return nil, nil, err
	}
	// Non-blocking, so that a FIFO swapped in after the check cannot hang the open.
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, nil, failure.Inputf("%s %s: %w", what, path, unwrap(err))
	}
	fst, err := f.Stat()
	if err == nil {
		err = regular(fst, path, what)
	}
	if err == nil && !os.SameFile(st, fst) {
		err = failure.Inputf("%s %s: changed while it was opened", what, path)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fst, nil
}

// Read reads a regular file whole, refusing one larger than limit bytes.
func Read(path, what string, limit int64) ([]byte, error) {
	f, st, err := Open(path, what)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, tooLarge(path, what, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, failure.Inputf("%s %s: %w", what, path, unwrap(err))
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, what, int64(len(data)), limit)
	}
	return data, nil
}

// Check says whether path is a regular file, without reading it.
func Check(path, what string) error {
	st, err := os.Stat(path)
	if err != nil {
		return failure.Inputf("%s %s: %w", what, path, unwrap(err))
	}
	return regular(st, path, what)
}

func regular(st os.FileInfo, path, what string) error {
	switch m := st.Mode(); {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return failure.Inputf("%s %s: is a folder, not a file", what, path)
	default:
		return failure.Inputf("%s %s: is not a regular file (%s): refused", what, path, kind(m))
	}
}

func kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

func tooLarge(path, what string, size, limit int64) error {
	return failure.Inputf("%s %s: %s is over the %s limit", what, path, bytesText(size), bytesText(limit))
}

func bytesText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
