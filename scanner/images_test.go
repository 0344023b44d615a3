package scanner_test

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imagegate/imagegate/scanner"
)

// A command that scans runs under ScanMemoryLimit, collecting only as the heap nears it
// (no GOGC target), and gives the limit and target it found back after; GOMEMLIMIT and
// GOGC, when set, are the user's and are left alone.
func TestLimitMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	gcPercent := func() int { // reads the target without changing it
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	before, beforePercent := debug.SetMemoryLimit(-1), gcPercent()
	restore := scanner.LimitMemory()
	assert.Equal(t, int64(scanner.ScanMemoryLimit), debug.SetMemoryLimit(-1))
	assert.Equal(t, -1, gcPercent(), "no GOGC target under the limit")
	restore()
	assert.Equal(t, before, debug.SetMemoryLimit(-1))
	assert.Equal(t, beforePercent, gcPercent())

	t.Setenv("GOGC", "100")
	restore = scanner.LimitMemory()
	assert.Equal(t, beforePercent, gcPercent(), "the user's GOGC stands")
	restore()

	t.Setenv("GOMEMLIMIT", "1GiB")
	restore = scanner.LimitMemory()
	assert.Equal(t, before, debug.SetMemoryLimit(-1), "the user's GOMEMLIMIT stands")
	assert.Equal(t, beforePercent, gcPercent())
	restore()
}
