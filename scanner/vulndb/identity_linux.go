package vulndb

import (
	"fmt"
	"os"
	"syscall"
)

// identity names a file's current content as far as the file system can tell without
// reading it: device, inode, size, modification and change times (the change time cannot
// be set back by a user).
func identity(st os.FileInfo) (string, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d:%d.%d", s.Dev, s.Ino, s.Size, s.Mtim.Sec, s.Mtim.Nsec, s.Ctim.Sec, s.Ctim.Nsec), true
}
