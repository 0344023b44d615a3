//go:build unix

package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A registry that never answers: the scan waits on it.
func hangingRegistry(t *testing.T) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(time.Minute):
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://")
}

// SIGTERM and SIGINT stop a run within 2 seconds with exit 3, one line and no report.
func TestSignalsStopTheRun(t *testing.T) {
	reg := hangingRegistry(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir() + "/report.json"
			cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "scan", reg+"/app:1", "--image-source", "registry", "-o", "json="+out)
			cmd.Env = append(os.Environ(), "IMAGEGATE_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			time.Sleep(500 * time.Millisecond)
			start := time.Now()
			require.NoError(t, cmd.Process.Signal(sig))
			err := cmd.Wait()
			took := time.Since(start)
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, stderr.String())
			assert.Equal(t, 3, ee.ExitCode(), stderr.String())
			assert.Less(t, took, 2500*time.Millisecond)
			assert.Contains(t, stderr.String(), "interrupted")
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr.String()), "\n")+1, stderr.String())
			assert.NoFileExists(t, out, "no report")
		})
	}
}

// --timeout is a hard deadline, even while the registry does not answer.
func TestTimeoutIsAHardDeadline(t *testing.T) {
	reg := hangingRegistry(t)
	start := time.Now()
	r := runCLI(t, "scan", reg+"/app:1", "--image-source", "registry", "--timeout", "1s")
	assert.Equal(t, 3, r.code, r.stderr)
	assert.Less(t, time.Since(start), 4*time.Second)
	assert.Contains(t, r.stderr, "did not finish within --timeout 1s")
}
