// Package peakheap measures the most heap in use during a piece of work, for benchmarks.
package peakheap

import (
	"runtime"
	"sync"
	"time"
)

// Start samples the heap in use every 5 ms until the returned function is called; that
// function stops the sampling and returns the peak, in bytes.
func Start() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}
