// Package output writes reports to files atomically: a report appears whole or not at all,
// and a failed run never leaves a partial file in place of a good one.
package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imagegate/imagegate/failure"
)

// Check fails early, before any work, for an output path that cannot be written: its
// folder is missing or not writable, it is a folder, or it is a device or pipe this user
// cannot write to.
//
// A path through a symbolic link is refused (a pull request can commit one where a report
// goes, pointing anywhere): the last component, unless the link leads to a device or a
// pipe (/dev/stdout, a FIFO), and every folder of a relative path (or of an absolute one
// below the working folder, the CI workspace). Give the link's target to write there.
func Check(path string) error {
	if err := checkLinks(path); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil {
		switch {
		case st.IsDir():
			return failure.Inputf("output %q: is a folder", path)
		case !st.Mode().IsRegular():
			if err := writable(path); err != nil {
				return failure.Inputf("output %q: not writable: %w", path, err)
			}
			return nil
		}
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return failure.Inputf("output %q: folder %q does not exist", path, dir)
	}
	if err := writable(dir); err != nil {
		return failure.Inputf("output %q: folder %q is not writable: %w", path, dir, err)
	}
	return nil
}

// WriteFile renders the report and puts it at path. A regular file (or a new one) is
// replaced atomically: the report is written next to it and renamed over it. A device or
// pipe that exists (/dev/stdout, a FIFO) is written to directly, never replaced by a
// file; the report is rendered whole first, so a failed render writes nothing there.
func WriteFile(path string, render func(io.Writer) error) (err error) {
	if err := Check(path); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		var buf bytes.Buffer
		if err := render(&buf); err != nil {
			return failure.Incompletef("output %q: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return failure.Inputf("output %q: %w", path, unwrap(err))
		}
		_, werr := f.Write(buf.Bytes())
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return failure.Incompletef("output %q: %w", path, unwrap(werr))
		}
		return nil
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return failure.Inputf("output %q: %w", path, unwrap(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := Buffered(tmp, render); err != nil {
		return failure.Incompletef("output %q: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return failure.Incompletef("output %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return failure.Incompletef("output %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return failure.Inputf("output %q: %w", path, unwrap(err))
	}
	return nil
}

func checkLinks(path string) error {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		target, _ := filepath.EvalSymlinks(path)
		if ts, err := os.Stat(path); err != nil || ts.Mode().IsRegular() || ts.IsDir() {
			return failure.Inputf("output %q: is a symbolic link (to %q): reports are not written through links; give the link's target to write there", path, target)
		}
	}
	rel := filepath.Clean(path)
	if filepath.IsAbs(rel) {
		wd, err := os.Getwd()
		if err != nil {
			return nil
		}
		if rel, err = filepath.Rel(wd, rel); err != nil || !filepath.IsLocal(rel) {
			return nil // outside the working folder: the user's own path
		}
		rel = filepath.Join(wd, rel)
		for dir := filepath.Dir(rel); dir != wd && len(dir) > len(wd); dir = filepath.Dir(dir) {
			if err := refuseLinkedFolder(path, dir); err != nil {
				return err
			}
		}
		return nil
	}
	for dir := filepath.Dir(rel); dir != "." && dir != string(filepath.Separator); dir = filepath.Dir(dir) {
		if err := refuseLinkedFolder(path, dir); err != nil {
			return err
		}
	}
	return nil
}

func refuseLinkedFolder(path, dir string) error {
	if st, err := os.Lstat(dir); err == nil && st.Mode()&os.ModeSymlink != 0 {
		target, _ := filepath.EvalSymlinks(dir)
		return failure.Inputf("output %q: folder %q is a symbolic link (to %q): reports are not written through links; give the real folder", path, dir, target)
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
