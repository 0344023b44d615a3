//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// processAlive says whether a process with this id exists (signal 0 checks, sends none).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ownedByMe says whether this user owns the folder: another user's is not ours to remove.
func ownedByMe(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
