//go:build !unix

package image

import (
	"io"
	"os"
)

// mapFile reads the first size bytes of f (no mapping here: the file is read into memory,
// as it is where the platform has no mmap).
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), data); err != nil {
		return nil, nil, err
	}
	return data, func() {}, nil
}
