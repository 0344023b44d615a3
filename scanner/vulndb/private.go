package vulndb

import (
	"errors"
	"os"

	"github.com/imagegate/imagegate/scanner/failure"
)

// privateDir makes dir as a folder only this user can use (0700), or accepts one of this
// user's (closing it to others if it was open): a folder another user owns, or a symlink,
// is refused, so that no one else can plant an index that makes the gate pass.
func privateDir(dir string) error {
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
	if st.Mode().Perm()&0o077 != 0 {
		// Ours, made by an older version or by hand: close it.
		if err := os.Chmod(dir, 0o700); err != nil {
			return failure.Incompletef("cache folder %s is open to other users and cannot be closed: %w", dir, unwrapPath(err))
		}
	}
	return nil
}
