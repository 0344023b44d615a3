// Package output writes reports to files atomically: a report appears whole or not at all,
// and a failed run never leaves a partial file in place of a good one.
package output

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imagegate/imagegate/scanner/failure"
)

// Check fails early, before any work, for an output path whose folder does not exist.
func Check(path string) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return failure.Inputf("output %q: folder %q does not exist", path, dir)
	}
	return nil
}

// WriteFile renders into a temporary file next to path and renames it over path when
// render succeeds. A missing folder is an input error.
func WriteFile(path string, render func(io.Writer) error) (err error) {
	if err := Check(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return failure.Inputf("output %q: %v", path, unwrap(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := render(tmp); err != nil {
		return failure.Incompletef("output %q: %v", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return failure.Incompletef("output %q: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return failure.Incompletef("output %q: %v", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return failure.Inputf("output %q: %v", path, unwrap(err))
	}
	return nil
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w", pe.Err)
	}
	return err
}
