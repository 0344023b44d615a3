package main

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imagegate/imagegate/internal/hostile"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/peakheap"
)

// Every hostile input ends with its exit code and, when it fails, one clear error line:
// never a panic, a Go stack or a partial report.
func TestHostileCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10 GiB gzip bomb and a 100,000-file image")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	db := filepath.Join(imagetest.RepoRoot(t), "testdata", "osv")
	cases := hostile.Build(t, t.TempDir(), db)
	assert.GreaterOrEqual(t, len(cases), 30)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			// The case's own heap: its peak over what the process held before it (earlier
			// cases leave ~50 MiB of the test process's caches live; a busy machine let that
			// push a case over its bound while the case itself was within it).
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			stop := peakheap.Start()
			r := runCLI(t, c.Args...)
			peak := stop()
			peak -= min(peak, before.HeapInuse)
			bound := uint64(MaxHostileHeap)
			if c.MaxHeap > 0 {
				bound = c.MaxHeap
			}
			assert.Less(t, peak, bound, "peak heap %d MiB", peak>>20)
			assert.Equal(t, c.Code, r.code, "stderr: %s", r.stderr)
			var errLines []string
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if l != "" && !strings.HasPrefix(l, "imagegate: warning: ") && !strings.HasPrefix(l, "imagegate: not analysed: ") {
					errLines = append(errLines, l)
				}
			}
			if c.Detail != "" {
				assert.Contains(t, r.stderr, c.Detail)
			}
			assert.NotContains(t, r.stderr, "goroutine ")
			assert.NotContains(t, r.stderr, "panic")
			if c.Code >= 2 {
				assert.Len(t, errLines, 1, "one error line")
				if len(errLines) == 1 {
					assert.True(t, strings.HasPrefix(errLines[0], "imagegate: "), errLines[0])
					assert.Contains(t, errLines[0], c.Message)
				}
				if !strings.Contains(c.Message, "did not analyse everything") {
					assert.Empty(t, r.stdout, "no partial report")
				} else {
					assert.Contains(t, r.stdout, `"incomplete"`, "an incomplete scan's report says what was not analysed")
				}
			}
		})
	}
}

// MaxHostileHeap bounds the heap any hostile case may reach.
const MaxHostileHeap = 512 << 20

// BenchmarkHostile runs each hostile case and reports its time and peak heap: the target
// is under 10 s and 300 MiB each.
func BenchmarkHostile(b *testing.B) {
	b.Setenv("XDG_CACHE_HOME", b.TempDir())
	db := filepath.Join(imagetest.RepoRoot(b), "testdata", "osv")
	for _, c := range hostile.Build(b, b.TempDir(), db) {
		b.Run(c.Name, func(b *testing.B) {
			var peak uint64
			for range b.N {
				runtime.GC()
				stop := peakheap.Start()
				code := run(c.Args, discard{}, discard{})
				peak = max(peak, stop())
				if code != c.Code {
					b.Fatalf("exit %d, want %d", code, c.Code)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
