package userfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/imagegate/imagegate/failure"
)

// PrivateDir makes dir as a folder only this user can use (0700), or accepts one of this
// user's (closing it to others if it was open): a folder another user owns, or a symlink,
// is refused, so that no one else can plant an index or a cached layer that makes the
// gate pass.
func PrivateDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err != nil && !errors.Is(err, os.ErrExist) {
		return failure.Incompletef("cache folder %s: %w (set XDG_CACHE_HOME to a folder of your own)", dir, unwrapPath(err))
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return failure.Incompletef("cache folder %s: %w", dir, unwrapPath(err))
	}
	if !st.IsDir() {
		return failure.Incompletef("cache folder %s is not a folder (a symlink or a file): refused; remove it", dir)
	}
	uid, ok := owner(st)
	if !ok {
		return nil // no owners or Unix modes to check here
	}
	if uid != os.Getuid() {
		return failure.Incompletef("cache folder %s belongs to another user (uid %d): refused; remove it or set XDG_CACHE_HOME to a folder of your own", dir, uid)
	}
	if st.Mode().Perm()&0o022 != 0 {
		// Anyone could have planted an entry there: not silently made private again.
		return failure.Incompletef("cache folder %s is writable by other users (mode %04o): refused, since an entry planted there could hide a layer's packages; remove it, or 'chmod 700' it if every entry is yours, or set XDG_CACHE_HOME to a folder of your own", dir, st.Mode().Perm())
	}
	if st.Mode().Perm()&0o077 != 0 {
		// Ours and readable by others, made by an older version or by hand: close it.
		if err := os.Chmod(dir, 0o700); err != nil {
			return failure.Incompletef("cache folder %s is open to other users and cannot be closed: %w", dir, unwrapPath(err))
		}
	}
	return nil
}

// CheckPrivateFile refuses a file this user does not own, or that others can read or
// write (a cache's secret key): one planted or shared is no secret.
func CheckPrivateFile(path, what string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return failure.Incompletef("%s %s: %w", what, path, unwrapPath(err))
	}
	uid, ok := owner(st)
	if !ok {
		return nil // no owners or Unix modes to check here
	}
	if !st.Mode().IsRegular() || uid != os.Getuid() || st.Mode().Perm()&0o077 != 0 {
		return failure.Incompletef("%s %s is not a private file of this user (owner uid %d, mode %s): refused; remove it", what, path, uid, st.Mode())
	}
	return nil
}

// CacheDir is imagegate/<parts> in the user cache folder, each level private to the user
// (made when missing, refused when another user owns it). Without a home folder it is in
// a folder of this user's own in the shared temporary folder.
func CacheDir(parts ...string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = filepath.Join(os.TempDir(), fmt.Sprintf("imagegate-%d", os.Getuid()))
		if err := PrivateDir(base); err != nil {
			return "", err
		}
	} else if err := os.MkdirAll(base, 0o700); err != nil {
		return "", failure.Incompletef("cache folder %s: %w (set XDG_CACHE_HOME to a writable folder)", base, unwrapPath(err))
	}
	dir := base
	for _, part := range append([]string{"imagegate"}, parts...) {
		dir = filepath.Join(dir, part)
		if err := PrivateDir(dir); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
