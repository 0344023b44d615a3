package scanner_test

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imagegate/imagegate/scanner"
)

// A command that scans runs under ScanMemoryLimit and gives the limit it found back
// after; GOMEMLIMIT, when set, is the user's and is left alone.
func TestLimitMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	restore := scanner.LimitMemory()
	assert.Equal(t, int64(scanner.ScanMemoryLimit), debug.SetMemoryLimit(-1))
	restore()
	assert.Equal(t, before, debug.SetMemoryLimit(-1))

	t.Setenv("GOMEMLIMIT", "1GiB")
	restore = scanner.LimitMemory()
	assert.Equal(t, before, debug.SetMemoryLimit(-1), "the user's GOMEMLIMIT stands")
	restore()
}
