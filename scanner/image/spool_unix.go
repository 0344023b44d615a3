//go:build unix

package image

import (
	"os"
	"syscall"
)

// mapFile maps the first size bytes of f read-only. The consumers only read the bytes and
// keep copies of what they derive (strings, tables), never a slice of them: the mapping
// is gone after the call.
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	if size == 0 {
		return nil, func() {}, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() { syscall.Munmap(data) }, nil
}
