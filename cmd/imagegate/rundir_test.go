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

// The temporary folders of runs that died are swept at the next start; a live run's
// folder, and a recent one without a process id, stay.
func TestDeadRunDirsAreSwept(t *testing.T) {
	tmp := t.TempDir()
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	dirs := map[string]bool{ // name: swept
		fmt.Sprintf("%s%d-abc", runDirPrefix, gone.Process.Pid): true,
		fmt.Sprintf("%s%d-abc", runDirPrefix, os.Getppid()):     false,
		runDirPrefix + "old":                        true,
		runDirPrefix + "recent":                     false,
		"unrelated-" + fmt.Sprint(gone.Process.Pid): false,
	}
	for d := range dirs {
		require.NoError(t, os.MkdirAll(filepath.Join(tmp, d, "zip-index"), 0o700))
	}
	old := time.Now().Add(-48 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(tmp, runDirPrefix+"old"), old, old))
	sweepRunDirs(tmp, time.Now())
	for d, swept := range dirs {
		if swept {
			assert.NoDirExists(t, filepath.Join(tmp, d))
		} else {
			assert.DirExists(t, filepath.Join(tmp, d))
		}
	}
}
