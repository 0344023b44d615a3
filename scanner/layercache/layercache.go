// Package layercache is the local, content-addressed store of analysed layers: one file
// per layer, named by the hash of its key (blob digest, diff ID, analyzer version and
// limits), holding the layer's kept files and its analyzers' results. An entry is written
// whole or not at all, and sealed with an HMAC over its full key and its content under a
// secret of this cache's own (kept 0600 beside the folder): an entry copied over another's
// file, planted, or restored from another cache is a miss, counted as rejected.
package layercache

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// magic starts every entry, followed by the HMAC-SHA256 of its key and the rest.
const magic = "imagegate-layer/2\n"

// Dir is a layer cache in a folder.
type Dir struct {
	dir    string
	secret []byte
	// hits and misses count lookups; rejected counts the misses whose entry was there but
	// did not verify (damaged, or not this key's).
	hits, misses, rejected atomic.Int64

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
	return withSecret(dir)
}

// Default is the layer cache in the user cache folder (imagegate/layers).
func Default() (*Dir, error) {
	dir, err := userfile.CacheDir("layers")
	if err != nil {
		return nil, err
	}
	return withSecret(dir)
}

// secretSize is the length of a cache's secret.
const secretSize = 32

// withSecret reads the cache's secret (DIR.key, beside the folder), making it the first
// time: 32 random bytes, 0600, written whole or not at all.
func withSecret(dir string) (*Dir, error) {
	p := filepath.Clean(dir) + ".key"
	if _, err := os.Lstat(p); err == nil {
		if err := userfile.CheckPrivateFile(p, "layer cache key"); err != nil {
			return nil, err
		}
		if b, err := userfile.Read(p, "layer cache key", secretSize); err == nil && len(b) == secretSize {
			return &Dir{dir: dir, secret: b}, nil
		}
		return nil, failure.Incompletef("layer cache key %s is not a key of this cache: remove it and the folder %s (the cache starts afresh)", p, dir)
	}
	secret := make([]byte, secretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, failure.Incompletef("layer cache key: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".key-*")
	if err != nil {
		return nil, failure.Incompletef("layer cache key %s: %w", p, err)
	}
	_, err = f.Write(secret)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// A link fails where another process made the key first: then that key is read.
		err = os.Link(f.Name(), p)
	}
	os.Remove(f.Name())
	if err != nil && !errors.Is(err, os.ErrExist) {
		return nil, failure.Incompletef("layer cache key %s: %w", p, err)
	}
	if errors.Is(err, os.ErrExist) {
		return withSecret(dir)
	}
	return &Dir{dir: dir, secret: secret}, nil
}

// seal is the entry's MAC: the key (its length first) and the content, under the secret.
func (d *Dir) seal(key string, data []byte) []byte {
	m := hmac.New(sha256.New, d.secret)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(key)))
	m.Write(n[:])
	m.Write([]byte(key))
	m.Write(data)
	return m.Sum(nil)
}

func (d *Dir) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(d.dir, h[:2], h)
}

// Get returns the entry for key: there, sealed for this key under this cache's secret.
func (d *Dir) Get(key string) ([]byte, bool) {
	b, err := os.ReadFile(d.path(key))
	if err != nil {
		d.misses.Add(1)
		return nil, false
	}
	if !bytes.HasPrefix(b, []byte(magic)) || len(b) < len(magic)+sha256.Size {
		d.misses.Add(1)
		d.rejected.Add(1)
		return nil, false
	}
	b = b[len(magic):]
	body := b[sha256.Size:]
	if !hmac.Equal(d.seal(key, body), b[:sha256.Size]) {
		d.misses.Add(1)
		d.rejected.Add(1)
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
	_, err = f.Write(append(append([]byte(magic), d.seal(key, data)...), data...))
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

// Hits and Misses count the lookups so far; Rejected the misses whose entry did not verify.
func (d *Dir) Hits() int64     { return d.hits.Load() }
func (d *Dir) Misses() int64   { return d.misses.Load() }
func (d *Dir) Rejected() int64 { return d.rejected.Load() }

// Path is the cache's folder.
func (d *Dir) Path() string { return d.dir }
