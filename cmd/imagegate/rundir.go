package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runDirPrefix names the temporary folder of one run: imagegate-run-PID-RANDOM.
const runDirPrefix = "imagegate-run-"

// newRunDir makes this run's temporary folder, after sweeping those of runs that died
// without removing theirs (a fatal runtime error, SIGKILL): their process is gone and the
// folder has not changed for an hour (a process in another PID namespace sharing the
// temporary folder looks gone too), or, for a folder without a process id, a day.
func newRunDir() (string, error) {
	sweepRunDirs(os.TempDir(), time.Now())
	return os.MkdirTemp("", fmt.Sprintf("%s%d-", runDirPrefix, os.Getpid()))
}

func sweepRunDirs(tmp string, now time.Time) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), runDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil || !ownedByMe(info) {
			continue
		}
		pidText, _, hasPid := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		dead := false
		if hasPid && err == nil && pid > 0 {
			dead = pid != os.Getpid() && !processAlive(pid) && now.Sub(info.ModTime()) > time.Hour
		} else {
			dead = now.Sub(info.ModTime()) > 24*time.Hour
		}
		if dead {
			os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}
