//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The temporary folders of runs that died are swept at the next start once unchanged for
// an hour; a live run's folder, a recent one, and a recent one without a process id stay.
func TestDeadRunDirsAreSwept(t *testing.T) {
	tmp := t.TempDir()
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	deadOld := fmt.Sprintf("%s%d-abc", runDirPrefix, gone.Process.Pid)
	deadRecent := fmt.Sprintf("%s%d-def", runDirPrefix, gone.Process.Pid)
	live := fmt.Sprintf("%s%d-abc", runDirPrefix, os.Getppid())
	dirs := map[string]bool{ // name: swept
		deadOld:                 true,
		deadRecent:              false, // its process may live in another PID namespace
		live:                    false,
		runDirPrefix + "old":    true,
		runDirPrefix + "recent": false,
		"unrelated-" + fmt.Sprint(gone.Process.Pid): false,
	}
	for d := range dirs {
		require.NoError(t, os.MkdirAll(filepath.Join(tmp, d, "zip-index"), 0o700))
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, d := range []string{runDirPrefix + "old", deadOld, live} {
		require.NoError(t, os.Chtimes(filepath.Join(tmp, d), old, old))
	}
	sweepRunDirs(tmp, time.Now())
	for d, swept := range dirs {
		if swept {
			assert.NoDirExists(t, filepath.Join(tmp, d))
		} else {
			assert.DirExists(t, filepath.Join(tmp, d))
		}
	}
}
