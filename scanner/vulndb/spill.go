package vulndb

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sort"
)

// spill sorts key/value entries that may not fit in memory: entries are held up to
// spillChunk bytes, then sorted and written to a temporary run; Each merges the runs in
// key order. An import of osv.dev's size (millions of package entries) holds one chunk.
type spill struct {
	dir   string
	buf   []kv
	bytes int
	runs  []string
}

type kv struct{ k, v []byte }

const spillChunk = 64 << 20

func newSpill(dir string) *spill { return &spill{dir: dir} }

func (s *spill) add(k, v []byte) error {
	s.buf = append(s.buf, kv{k, v})
	s.bytes += len(k) + len(v) + 48
	if s.bytes >= spillChunk {
		return s.flush()
	}
	return nil
}

func (s *spill) sortBuf() {
	sort.SliceStable(s.buf, func(i, j int) bool { return bytes.Compare(s.buf[i].k, s.buf[j].k) < 0 })
}

func (s *spill) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	s.sortBuf()
	f, err := os.CreateTemp(s.dir, ".spill-*")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr [2 * binary.MaxVarintLen64]byte
	for _, e := range s.buf {
		n := binary.PutUvarint(hdr[:], uint64(len(e.k)))
		n += binary.PutUvarint(hdr[n:], uint64(len(e.v)))
		w.Write(hdr[:n])
		w.Write(e.k)
		w.Write(e.v)
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	s.runs = append(s.runs, f.Name())
	s.buf, s.bytes = nil, 0
	return nil
}

// close removes the temporary runs.
func (s *spill) close() {
	for _, r := range s.runs {
		os.Remove(r)
	}
}

// each calls fn with every entry in key order (entries of equal keys in the order added).
func (s *spill) each(fn func(k, v []byte) error) error {
	if len(s.runs) == 0 {
		s.sortBuf()
		for _, e := range s.buf {
			if err := fn(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.flush(); err != nil {
		return err
	}
	h := &runHeap{}
	for i, r := range s.runs {
		f, err := os.Open(r)
		if err != nil {
			return err
		}
		defer f.Close()
		rr := &runReader{r: bufio.NewReaderSize(f, 1<<20), order: i}
		if ok, err := rr.next(); err != nil {
			return err
		} else if ok {
			heap.Push(h, rr)
		}
	}
	for h.Len() > 0 {
		rr := (*h)[0]
		if err := fn(rr.k, rr.v); err != nil {
			return err
		}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}

type runReader struct {
	r     *bufio.Reader
	k, v  []byte
	order int
}

func (r *runReader) next() (bool, error) {
	kl, err := binary.ReadUvarint(r.r)
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	vl, err := binary.ReadUvarint(r.r)
	if err != nil {
		return false, err
	}
	buf := make([]byte, kl+vl)
	if _, err := io.ReadFull(r.r, buf); err != nil {
		return false, err
	}
	r.k, r.v = buf[:kl], buf[kl:]
	return true, nil
}

type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].k, h[j].k); c != 0 {
		return c < 0
	}
	return h[i].order < h[j].order
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
