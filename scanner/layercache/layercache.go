// Package layercache is the local, content-addressed store of analysed layers: one file
// per layer, named by the hash of its key (blob digest, diff ID, analyzer version and
// limits), holding the layer's kept files and its analyzers' results. An entry is written
// whole or not at all and checked when read; a damaged or foreign entry is a miss.
package layercache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// magic starts every entry, followed by the sha256 of the rest.
const magic = "imagegate-layer/1\n"

// Dir is a layer cache in a folder.
type Dir struct {
	dir          string
	hits, misses atomic.Int64

	mu      sync.Mutex
	reading map[string]*sync.Mutex
}

// Lock holds key while one walk reads the layer and stores it: another scan of an image
// with the same layer, running at the same time, waits and then finds it in the cache
// instead of reading it too.
func (d *Dir) Lock(key string) (unlock func()) {
	d.mu.Lock()
	if d.reading == nil {
		d.reading = map[string]*sync.Mutex{}
	}
	m, ok := d.reading[key]
	if !ok {
		m = &sync.Mutex{}
		d.reading[key] = m
	}
	d.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// Open returns the cache in dir, creating the folder. It is private to the user (0700,
// entries 0600): a folder another user owns is refused, since an entry planted there
// could hide a layer's packages or secrets.
func Open(dir string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, failure.Incompletef("layer cache %s: %w", dir, err)
	}
	if err := userfile.PrivateDir(dir); err != nil {
		return nil, err
	}
	return &Dir{dir: dir}, nil
}

// Default is the layer cache in the user cache folder (imagegate/layers).
func Default() (*Dir, error) {
	dir, err := userfile.CacheDir("layers")
	if err != nil {
		return nil, err
	}
	return &Dir{dir: dir}, nil
}

func (d *Dir) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(d.dir, h[:2], h)
}

// Get returns the entry for key.
func (d *Dir) Get(key string) ([]byte, bool) {
	b, err := os.ReadFile(d.path(key))
	if err != nil || !bytes.HasPrefix(b, []byte(magic)) || len(b) < len(magic)+sha256.Size {
		d.misses.Add(1)
		return nil, false
	}
	b = b[len(magic):]
	body := b[sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], b[:sha256.Size]) {
		d.misses.Add(1)
		return nil, false
	}
	d.hits.Add(1)
	now := time.Now()
	os.Chtimes(d.path(key), now, now) // used: Prune keeps it
	return body, true
}

// Prune removes the entries not used for maxAge (their modification time is their last
// use; 0: no age limit), and stray temporary files as old; then, while the entries left
// take more than maxBytes (0: no size limit), the least recently used. It returns how many
// it removed.
func (d *Dir) Prune(maxAge time.Duration, maxBytes int64) (int, error) {
	cutoff := time.Now().Add(-maxAge)
	removed := 0
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var kept []entry
	var total int64
	err := filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // gone already
		}
		if maxAge > 0 && info.ModTime().Before(cutoff) {
			if os.Remove(p) == nil {
				removed++
			}
			return nil
		}
		kept = append(kept, entry{p, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil || maxBytes <= 0 || total <= maxBytes {
		return removed, err
	}
	slices.SortFunc(kept, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, e := range kept {
		if total <= maxBytes {
			break
		}
		if os.Remove(e.path) == nil {
			removed++
			total -= e.size
		}
	}
	return removed, nil
}

// Put stores the entry for key: written to a temporary file and renamed, so a reader sees
// the whole entry or none. A failure to write is not an error: the layer is read again
// next time.
func (d *Dir) Put(key string, data []byte) {
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	sum := sha256.Sum256(data)
	_, err = f.Write(append(append([]byte(magic), sum[:]...), data...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// Hits and Misses count the lookups so far.
func (d *Dir) Hits() int64   { return d.hits.Load() }
func (d *Dir) Misses() int64 { return d.misses.Load() }

// Path is the cache's folder.
func (d *Dir) Path() string { return d.dir }
