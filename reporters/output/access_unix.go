//go:build unix

package output

import "golang.org/x/sys/unix"

// writable says whether this user may write to path (for a folder: create files in it).
func writable(path string) error { return unix.Access(path, unix.W_OK) }
