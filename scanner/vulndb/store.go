// Package vulndb is the local store of OSV records: one indexed database file per
// ecosystem, built once when data is imported or downloaded, so that a scan reads only the
// records of the packages it asks about.
//
// A database folder holds, per base ecosystem (Debian, Alpine, PyPI, ...):
//
//	<Ecosystem>.db           a bbolt file with two buckets: "records", record id -> the
//	                         record's text once (id, aliases, summary, CVSS vectors,
//	                         vendor ratings, references: Record); and "packages",
//	                         affected ecosystem + NUL + package name -> every record
//	                         that names the package, each as its id and its affected
//	                         entries for the package with their range events sorted
//	                         (Affected). A Red Hat-style advisory naming 300 packages is
//	                         one record and 300 small entries; a lookup is one read.
//	                         Both in the compact binary encoding of entry.go.
//	<Ecosystem>.scores       the CVSS vector of each record that has one, by identifier
//	                         (sorted lines, looked up by binary search)
//	<Ecosystem>.json         what the data is and where it came from (Info)
//
// Every write builds a new file next to the old one and renames it into place, so an
// interrupted import or update never leaves a broken database.
package vulndb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/imagegate/imagegate/scanner/ecosystem"

	bolt "go.etcd.io/bbolt"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

var (
	bucketPackages = []byte("packages")
	bucketRecords  = []byte("records")
)

// FormatVersion is the layout of the index files; a database written in another layout is
// rebuilt, never misread.
const FormatVersion = 8

// Info describes one ecosystem's data.
type Info struct {
	Ecosystem string `json:"ecosystem"`
	Records   int    `json:"records"`
	// Skipped counts files that were not valid OSV JSON; Withdrawn counts withdrawn
	// records, which are not stored.
	Skipped   int `json:"skipped"`
	Withdrawn int `json:"withdrawn"`
	// Source is the URL or file the data came from.
	Source string `json:"source"`
	// Updated is when the data was last known current: the download (or the last check
	// that found it unchanged), or for an import the newest record's modified time.
	Updated time.Time `json:"updated"`
	// ETag, LastModified and SHA256 describe the downloaded export, for conditional
	// requests and integrity.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	SHA256       string `json:"sha256,omitempty"`
	// Size is the index file's size in bytes, and IndexSHA256 its digest: a store is
	// checked against both before it is used.
	Size        int64  `json:"size"`
	IndexSHA256 string `json:"indexSha256"`
	// ScoresSHA256 is the digest of <Ecosystem>.scores, the CVSS vectors of the
	// records by every identifier (see Store.Score).
	ScoresSHA256 string `json:"scoresSha256"`
	// Format is the index layout (FormatVersion when written).
	Format int `json:"format"`
	// RatingsOnly marks an ecosystem kept for its severities alone (ImportRatings): no
	// index, only <Ecosystem>.ratings.scores, described in <Ecosystem>.ratings.json.
	RatingsOnly bool `json:"ratingsOnly,omitempty"`
}

// Store is an opened database folder.
type Store struct {
	dir   string
	infos map[string]Info
	// dirs is the folder of each ecosystem's index when it is not dir (zips indexed into
	// the user cache, one folder per zip); lazy names the zips of ecosystems not indexed
	// yet, built on their first query (with ctx, the opener's).
	dirs map[string]string
	lazy map[string]string
	ctx  context.Context

	mu  sync.Mutex
	dbs map[string]*bolt.DB
	// scores are every ecosystem's CVSS vectors by identifier, read on the first Score.
	scores []*scoreFile
	// Unsigned names the database artifact this store came from when its signature was
	// not checked (--insecure-unsigned-db): scans warn of it.
	Unsigned string
}

// Open opens the database folder dir. A folder that holds no database is an error that
// says how to get one.
func Open(dir string) (*Store, error) {
	infos, err := readInfos(dir)
	if err != nil {
		return nil, err
	}
	if len(infos) == 0 {
		return nil, failure.WithSetting(failure.Incompletef("no vulnerability database in %s: run 'imagegate db update' (or 'imagegate db import' for offline data), or name another database", dir), "db")
	}
	return &Store{dir: dir, infos: infos, dirs: map[string]string{}, lazy: map[string]string{}, dbs: map[string]*bolt.DB{}, ctx: context.Background()}, nil
}

func readInfos(dir string) (map[string]Info, error) { return readInfosOf(dir, true) }

// readInfosOf reads a folder's data descriptions. A description of another index layout
// is an error when strict, else left out (db update then fetches that ecosystem anew).
func readInfosOf(dir string, strict bool) (map[string]Info, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return map[string]Info{}, nil
		}
		return nil, failure.Incompletef("vulnerability database %s: %w", dir, err)
	}
	infos := map[string]Info{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		eco := strings.TrimSuffix(name, ".json")
		if _, err := os.Stat(filepath.Join(dir, eco+".db")); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, failure.Incompletef("vulnerability database %s: %w", dir, err)
		}
		var info Info
		if err := json.Unmarshal(b, &info); err != nil {
			return nil, failure.Incompletef("vulnerability database %s: %s is corrupt (%w): run 'imagegate db update' to rebuild it", dir, name, err)
		}
		if info.Format != FormatVersion && !strict {
			continue
		}
		if info.Format != FormatVersion {
			return nil, failure.Incompletef("vulnerability database %s: %s was written by another imagegate version (format %d, want %d): run 'imagegate db update' (or 'db import') to rebuild it", dir, eco, info.Format, FormatVersion)
		}
		infos[eco] = info
	}
	return infos, nil
}

// Dir is the database folder (or the folder of zips the store reads).
func (s *Store) Dir() string { return s.dir }

// IndexAll indexes every ecosystem not indexed yet (db status shows them all).
func (s *Store) IndexAll() error {
	s.mu.Lock()
	var waiting []string
	for base := range s.lazy {
		waiting = append(waiting, base)
	}
	s.mu.Unlock()
	sort.Strings(waiting)
	for _, base := range waiting {
		if _, err := s.db(base); err != nil {
			return err
		}
	}
	return nil
}

// IndexDir is the folder holding eco's index once it is built ("" before).
func (s *Store) IndexDir(eco string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := ecosystem.Base(eco)
	if _, ok := s.infos[base]; !ok {
		return ""
	}
	if d, ok := s.dirs[base]; ok {
		return d
	}
	return s.dir
}

// Infos lists the ecosystems indexed in the store, sorted by name.
func (s *Store) Infos() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.infos))
	for _, i := range s.infos {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Ecosystem < out[b].Ecosystem })
	return out
}

// Has reports whether the store has data for the base ecosystem of eco ("Debian:11" ->
// "Debian"), indexed or waiting to be.
func (s *Store) Has(eco string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.infos[ecosystem.Base(eco)]
	_, waiting := s.lazy[ecosystem.Base(eco)]
	return ok || waiting
}

// Info returns the data description of eco's base ecosystem once it is indexed.
func (s *Store) Info(eco string) (Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.infos[ecosystem.Base(eco)]
	return i, ok
}

func packageKey(eco, name string) []byte {
	return []byte(eco + "\x00" + ecosystem.NormalizeName(eco, name))
}

func (s *Store) db(base string) (*bolt.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if db, ok := s.dbs[base]; ok {
		return db, nil
	}
	if z, ok := s.lazy[base]; ok {
		delete(s.lazy, base)
		if err := s.indexZip(s.ctx, z, base); err != nil {
			return nil, err
		}
	}
	dir := s.dir
	if d, ok := s.dirs[base]; ok {
		dir = d
	}
	p := filepath.Join(dir, base+".db")
	if err := verifyIndex(p, s.infos[base]); err != nil {
		return nil, failure.Incompletef("vulnerability database %s is corrupt (%w): run 'imagegate db update' (or 'db import') to rebuild it", p, err)
	}
	db, err := bolt.Open(p, 0o444, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, failure.Incompletef("vulnerability database %s is unreadable (%w): run 'imagegate db update' to rebuild it", p, err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketPackages) == nil || tx.Bucket(bucketRecords) == nil {
			return errors.New("no packages or records bucket")
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, failure.Incompletef("vulnerability database %s is corrupt (%w): run 'imagegate db update' to rebuild it", p, err)
	}
	s.dbs[base] = db
	return db, nil
}

// Query returns the records that name the package in the ecosystem (with its release,
// e.g. "Debian:11"), each with that package's affected entries. It reads only that
// package's index entry; a record's text is read when Entry.Record asks for it.
func (s *Store) Query(eco, name string) ([]Entry, error) {
	base := ecosystem.Base(eco)
	if !s.Has(base) {
		return nil, nil
	}
	db, err := s.db(base)
	if err != nil {
		return nil, err
	}
	var value []byte
	err = db.View(func(tx *bolt.Tx) error {
		// Copied out of the transaction: the entries' strings share this copy.
		value = bytes.Clone(tx.Bucket(bucketPackages).Get(packageKey(eco, name)))
		return nil
	})
	if err != nil || value == nil {
		return nil, err
	}
	out, err := decodeEntries(value)
	if err != nil {
		return nil, failure.Incompletef("vulnerability database %s: package entry %s: %w: run 'imagegate db update' to rebuild it", base, name, err)
	}
	for i := range out {
		out[i].db, out[i].base = db, base
	}
	return out, nil
}

// Entry is what a lookup finds for one record: the record's affected entries for the
// package, and the record's text, read on demand.
type Entry struct {
	Affected []Affected
	id       string
	db       *bolt.DB
	base     string
	rec      *Record
}

// ID is the record's identifier.
func (e *Entry) ID() string { return e.id }

// Record reads the record's text.
func (e *Entry) Record() (*Record, error) {
	if e.rec != nil {
		return e.rec, nil
	}
	if err := ReadRecords([]*Entry{e}); err != nil {
		return nil, err
	}
	return e.rec, nil
}

// ReadRecords reads the text of each entry's record that is not read yet, the entries of
// one database in one transaction.
func ReadRecords(entries []*Entry) error {
	entries = slices.DeleteFunc(slices.Clone(entries), func(e *Entry) bool { return e.rec != nil })
	for len(entries) > 0 {
		db, base := entries[0].db, entries[0].base
		var rest []*Entry
		var failed *Entry
		err := db.View(func(tx *bolt.Tx) error {
			records := tx.Bucket(bucketRecords)
			for _, e := range entries {
				if e.db != db {
					rest = append(rest, e)
					continue
				}
				if e.rec != nil {
					continue
				}
				raw := records.Get([]byte(e.id))
				if raw == nil {
					failed = e
					return errors.New("the package entry names a record that is missing")
				}
				rec, err := decodeRecord(bytes.Clone(raw))
				if err != nil {
					failed = e
					return err
				}
				e.rec = rec
			}
			return nil
		})
		if err != nil {
			id := ""
			if failed != nil {
				id = " record " + failed.id + ":"
			}
			return failure.Incompletef("vulnerability database %s:%s %w: run 'imagegate db update' to rebuild it", base, id, err)
		}
		entries = rest
	}
	return nil
}

// Close releases the database files.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for k, db := range s.dbs {
		if err := db.Close(); err != nil && first == nil {
			first = err
		}
		delete(s.dbs, k)
	}
	return first
}

// verifyIndex checks an index file against the size and digest written when it was built:
// a truncated or altered store is never read (bbolt maps the file, and a bad page would
// fault the process or give partial data).
func verifyIndex(path string, info Info) error {
	f, err := os.Open(path)
	if err != nil {
		return unwrapPath(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if st.Size() != info.Size {
		return fmt.Errorf("%d bytes, built as %d", st.Size(), info.Size)
	}
	// Hashed once per change: a stamp records the file's identity (inode, size, times) when
	// its digest last matched, so that a scan of osv.dev-sized data does not read every
	// index it uses each time.
	id, ok := identity(st)
	want := id + " " + info.IndexSHA256
	beside := path + ".verified"
	if ok {
		if b, err := os.ReadFile(beside); err == nil && string(b) == want {
			return nil
		}
		if p, err := cachedStamp(path); err == nil {
			if b, err := os.ReadFile(p); err == nil && string(b) == want {
				return nil
			}
		}
	}
	sum, err := fileSHA256(f)
	if err != nil {
		return err
	}
	if sum != info.IndexSHA256 {
		return fmt.Errorf("its digest is sha256:%s, built as sha256:%s", sum, info.IndexSHA256)
	}
	if ok && os.WriteFile(beside, []byte(want), 0o644) != nil {
		// A store this user cannot write (a read-only mount, another user's folder): the
		// stamp goes to the user's private cache instead (best effort: else hashed each time).
		if p, err := cachedStamp(path); err == nil {
			_ = os.WriteFile(p, []byte(want), 0o600)
		}
	}
	return nil
}

// cachedStamp is where the stamp of an index in a folder this user cannot write is kept:
// the user's private cache, under a digest of the index's absolute path (the stamp names
// the file's device and inode too).
func cachedStamp(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir, err := userfile.CacheDir("verified")
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, hex.EncodeToString(h[:16])), nil
}

func fileSHA256(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
