package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/imagegate/imagegate/scanner/ecosystem"

	"github.com/ossf/osv-schema/bindings/go/osvschema"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// MaxRecordSize bounds one OSV JSON file; real records are far smaller.
const MaxRecordSize = 8 << 20

// MaxExportBytes bounds the JSON of all the records of one export zip (osv.dev's largest
// export today is a few hundred MiB of JSON; a small zip of large, compressible records is
// refused here).
const MaxExportBytes = 1 << 30

// builder collects the records of one base ecosystem before they are written.
type builder struct {
	base    string
	records int
	// entries are the index, sorted on disk past a memory chunk: "r" + record id -> the
	// record without its affected entries (each advisory's text once), and "p" + package
	// key + NUL + record id -> that record's affected entries for the package.
	entries   *spill
	skipped   int
	withdrawn int
	newest    time.Time
	size      int64 // bytes of index entries held
	// scores maps every identifier of a record that carries a CVSS vector (its id,
	// aliases, upstream) to that vector: a finding whose own advisories carry none takes
	// it from here (Store.Score).
	scores map[string]score
}

// MaxIndexBytes bounds one ecosystem's index entries (written to a temporary file past a
// memory chunk, so memory stays bounded whatever the export's size).
const MaxIndexBytes = 4 << 30

func newBuilder(base string) *builder {
	return &builder{base: base, entries: newSpill(""), scores: map[string]score{}}
}

var decodeOptions = protojson.UnmarshalOptions{DiscardUnknown: true}

// decode parses one OSV JSON record.
func decode(raw []byte) (*osvschema.Vulnerability, error) {
	v := &osvschema.Vulnerability{}
	if err := decodeOptions.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	if v.GetId() == "" {
		return nil, errors.New("record has no id")
	}
	return v, nil
}

// bases lists the base ecosystems a record affects.
func bases(v *osvschema.Vulnerability) []string {
	var out []string
	for _, a := range v.GetAffected() {
		b := ecosystem.Base(a.GetPackage().GetEcosystem())
		if b != "" && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// maxReferences is how many links of an advisory are kept (reports show up to eight).
const maxReferences = 8

// put adds an index entry, within MaxIndexBytes.
func (b *builder) put(k, v []byte) error {
	if b.size += int64(len(k) + len(v)); b.size > MaxIndexBytes {
		return failure.Inputf("the %s records need more than %d bytes to index: not a usable export", b.base, MaxIndexBytes)
	}
	return b.entries.add(k, v)
}

// add stores v once (its text, without details) and indexes the affected entries of each
// package of the builder's base ecosystem it names: a lookup reads the package's entries
// and the records they point at, however many packages an advisory lists.
func (b *builder) add(v *osvschema.Vulnerability) error {
	if v.GetWithdrawn() != nil {
		b.withdrawn++
		return nil
	}
	byKey := map[string][]*osvschema.Affected{}
	var keys []string
	for _, a := range v.GetAffected() {
		p := a.GetPackage()
		if ecosystem.Base(p.GetEcosystem()) != b.base || p.GetName() == "" {
			continue
		}
		k := string(packageKey(p.GetEcosystem(), p.GetName()))
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], a)
	}
	if len(keys) == 0 {
		return nil
	}
	b.records++
	b.addScore(v)
	if err := b.put(append([]byte("r"), v.GetId()...), encodeRecord(CompactRecord(v))); err != nil {
		return err
	}
	for _, k := range keys {
		compact := make([]Affected, len(byKey[k]))
		for i, a := range byKey[k] {
			compact[i] = CompactAffected(a, b.base)
		}
		// One key per package and record while sorting; load joins a package's entries
		// into one value.
		if err := b.put([]byte("p"+k+"\x00"+v.GetId()), encodeEntry(v.GetId(), compact)); err != nil {
			return err
		}
	}
	if m := v.GetModified(); m != nil && m.AsTime().After(b.newest) {
		b.newest = m.AsTime()
	}
	return nil
}

// write builds <base>.db in a temporary file and renames it (then its Info) into place.
// load writes the index entries into db in key order, dense (written once), committing
// every batch so that memory stays bounded.
func (b *builder) load(db *bolt.DB) error {
	defer b.entries.close()
	if err := db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucket(bucketPackages); err != nil {
			return err
		}
		_, err := tx.CreateBucket(bucketRecords)
		return err
	}); err != nil {
		return err
	}
	tx, err := db.Begin(true)
	if err != nil {
		return err
	}
	defer func() { tx.Rollback() }()
	pending := 0
	var last, pkg, value []byte
	put := func(bucket, k, v []byte) error {
		bk := tx.Bucket(bucket)
		bk.FillPercent = 1
		if err := bk.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
			return err
		}
		// Committed every 16 MiB: a transaction holds its pages in memory until then.
		if pending += len(k) + len(v); pending >= 16<<20 {
			pending = 0
			if err := tx.Commit(); err != nil {
				return err
			}
			if tx, err = db.Begin(true); err != nil {
				return err
			}
		}
		return nil
	}
	// A package's entries come one after the other (keys are sorted): their values are
	// joined into the package's one value.
	flush := func() error {
		if pkg == nil {
			return nil
		}
		err := put(bucketPackages, pkg, value)
		pkg, value = nil, value[:0]
		return err
	}
	err = b.entries.each(func(k, v []byte) error {
		if bytes.Equal(k, last) {
			return nil // a record that came twice: the first stays
		}
		last = append(last[:0], k...)
		if k[0] == 'r' {
			return put(bucketRecords, k[1:], v)
		}
		id := (&decoder{b: v}).str()
		if len(k) < len(id)+2 {
			return errors.New("index entry out of order")
		}
		key := k[1 : len(k)-len(id)-1] // "p" + package key + NUL + record id
		if !bytes.Equal(key, pkg) {
			if err := flush(); err != nil {
				return err
			}
			pkg = bytes.Clone(key)
		}
		value = append(value, v...)
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

func (b *builder) write(dir string, info Info) (Info, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return info, failure.Inputf("vulnerability database folder %s: %w", dir, unwrapPath(err))
	}
	tmp, err := os.CreateTemp(dir, "."+b.base+".db.*")
	if err != nil {
		return info, failure.Inputf("vulnerability database folder %s is not writable: %w", dir, unwrapPath(err))
	}
	tmpName := tmp.Name()
	tmp.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmpName)
		}
	}()
	db, err := bolt.Open(tmpName, 0o644, &bolt.Options{NoSync: true, NoFreelistSync: true, Timeout: time.Second})
	if err != nil {
		return info, failure.Incompletef("building the %s database: %w", b.base, err)
	}
	err = b.load(db)
	if err == nil {
		err = db.Sync()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, failure.Incompletef("building the %s database: %w", b.base, err)
	}
	st, err := os.Stat(tmpName)
	if err != nil {
		return info, failure.Incomplete(err)
	}
	f, err := os.Open(tmpName)
	if err != nil {
		return info, failure.Incomplete(err)
	}
	info.IndexSHA256, err = fileSHA256(f)
	f.Close()
	if err != nil {
		return info, failure.Incomplete(err)
	}
	// Readable by everyone, as a store baked into a CI image by root must be for the
	// runner's user.
	if err := os.Chmod(tmpName, 0o644); err != nil {
		return info, failure.Incomplete(err)
	}
	info.Ecosystem, info.Records, info.Skipped, info.Withdrawn, info.Size = b.base, b.records, b.skipped, b.withdrawn, st.Size()
	info.Format = FormatVersion
	if info.Updated.IsZero() {
		info.Updated = b.newest
	}
	if info.ScoresSHA256, err = writeScores(dir, b.base, b.scores); err != nil {
		return info, err
	}
	if err := os.Rename(tmpName, filepath.Join(dir, b.base+".db")); err != nil {
		return info, failure.Incompletef("installing the %s database: %w", b.base, err)
	}
	ok = true
	return info, writeInfo(dir, info)
}

func writeInfo(dir string, info Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	name := info.Ecosystem
	if info.RatingsOnly {
		name += ratingsSuffix
	}
	tmp, err := os.CreateTemp(dir, "."+name+".json.*")
	if err != nil {
		return failure.Inputf("vulnerability database folder %s is not writable: %w", dir, unwrapPath(err))
	}
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Chmod(0o644)
	}
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return failure.Incompletef("writing %s metadata: %w", info.Ecosystem, errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name+".json")); err != nil {
		os.Remove(tmp.Name())
		return failure.Incompletef("writing %s metadata: %w", info.Ecosystem, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Import reads OSV data into the database folder dir. Each path is an OSV export zip
// (<Ecosystem>/all.zip: it replaces that one ecosystem) or a folder of OSV JSON files (it
// replaces every ecosystem its records affect).
func Import(ctx context.Context, dir string, paths ...string) ([]Info, error) {
	var out []Info
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return out, failure.Inputf("import %s: %w", p, unwrapPath(err))
		}
		var infos []Info
		if st.IsDir() {
			infos, err = importFolder(ctx, dir, p)
		} else {
			var info Info
			info, err = importZipFile(ctx, dir, p, ecosystemFromZipPath(absPath(p)), Info{Source: absPath(p)})
			infos = []Info{info}
		}
		if err != nil {
			return out, err
		}
		out = append(out, infos...)
	}
	return out, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// importZipFile imports one export zip as the ecosystem want, or when want is empty as the
// ecosystem most of its records affect.
func importZipFile(ctx context.Context, dir, path, want string, info Info) (Info, error) {
	f, _, err := userfile.Open(path, "OSV export")
	if err != nil {
		return info, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return info, failure.Inputf("import %s: %w", path, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return info, failure.Inputf("import %s: %w", path, err)
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return info, failure.Inputf("import %s: not a valid zip: %w", path, err)
	}
	// Each record goes to the index as it is read. When the ecosystem is not known from
	// the path (<Ecosystem>/all.zip), a first pass counts the records' ecosystems, decoding
	// and dropping them: memory stays bounded whatever the export's size.
	pass := func(each func(v *osvschema.Vulnerability) error) (int, map[string]int, error) {
		return eachRecord(ctx, zr, path, each)
	}
	base := want
	if base == "" {
		_, count, err := pass(func(*osvschema.Vulnerability) error { return nil })
		if err != nil {
			return info, err
		}
		base = dominant(count)
	}
	b := newBuilder(base)
	skipped, count, err := pass(func(v *osvschema.Vulnerability) error {
		if err := b.add(v); err != nil {
			var ferr *failure.Error
			if errors.As(err, &ferr) {
				return &failure.Error{Kind: ferr.Kind, Err: fmt.Errorf("import %s: %w", path, err)}
			}
			return failure.Incompletef("import %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		b.entries.close()
		return info, err
	}
	if count[base] == 0 {
		b.entries.close()
		return info, failure.Inputf("import %s: no OSV records in the zip (%d files skipped as not OSV JSON)", path, skipped)
	}
	b.skipped = skipped
	return b.write(dir, info)
}

// eachRecord decodes the export's records one at a time and hands each to each: it
// returns how many members were skipped (not OSV JSON) and the records per ecosystem. The
// records' JSON may add up to no more than MaxExportBytes (osv.dev's largest export: a
// few hundred MiB).
func eachRecord(ctx context.Context, zr *zip.Reader, path string, each func(v *osvschema.Vulnerability) error) (skipped int, count map[string]int, err error) {
	var decoded int64
	count = map[string]int{}
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return 0, nil, failure.Incompletef("import %s: %w", path, err)
		}
		if zf.FileInfo().IsDir() || !strings.HasSuffix(zf.Name, ".json") {
			continue
		}
		raw, err := readZipMember(zf)
		if err != nil {
			var ferr *failure.Error
			if errors.As(err, &ferr) {
				return 0, nil, fmt.Errorf("import %s: %w", path, err)
			}
			skipped++
			continue
		}
		if decoded += int64(len(raw)); decoded > MaxExportBytes {
			return 0, nil, failure.Inputf("import %s: its records add up to more than %d bytes of JSON: not a usable export", path, MaxExportBytes)
		}
		v, err := decode(raw)
		if err != nil {
			skipped++
			continue
		}
		for _, base := range bases(v) {
			count[base]++
		}
		if err := each(v); err != nil {
			return 0, nil, err
		}
	}
	return skipped, count, nil
}

func readZipMember(zf *zip.File) ([]byte, error) {
	if zf.UncompressedSize64 > MaxRecordSize {
		return nil, fmt.Errorf("%s: %d bytes, over the %d-byte record limit", zf.Name, zf.UncompressedSize64, MaxRecordSize)
	}
	// OSV JSON compresses about tenfold; a large record that compresses a hundredfold and
	// more is padding, made to be held in memory many times over.
	if zf.UncompressedSize64 > 1<<20 && zf.UncompressedSize64 > 100*max(zf.CompressedSize64, 1) {
		return nil, failure.Inputf("%s: %d bytes from %d compressed: not an OSV record (a zip bomb?)", zf.Name, zf.UncompressedSize64, zf.CompressedSize64)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, MaxRecordSize+1))
	if err != nil {
		return nil, failure.Inputf("%s: corrupt zip member: %w", zf.Name, err)
	}
	if len(raw) > MaxRecordSize {
		return nil, fmt.Errorf("%s: over the %d-byte record limit", zf.Name, MaxRecordSize)
	}
	return raw, nil
}

func dominant(count map[string]int) string {
	best, n := "", 0
	for _, k := range sortedKeys(count) {
		if count[k] > n {
			best, n = k, count[k]
		}
	}
	return best
}

// importFolder imports every *.json below dir, grouped by the ecosystems they affect.
func importFolder(ctx context.Context, dbDir, folder string) ([]Info, error) {
	builders := map[string]*builder{}
	skipped := 0
	err := filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > MaxRecordSize {
			skipped++
			return nil
		}
		if !info.Mode().IsRegular() {
			skipped++ // a FIFO or device named *.json is not a record
			return nil
		}
		raw, err := userfile.Read(p, "OSV record", MaxRecordSize)
		if err != nil {
			return err
		}
		v, err := decode(raw)
		if err != nil {
			skipped++
			return nil
		}
		for _, base := range bases(v) {
			if builders[base] == nil {
				builders[base] = newBuilder(base)
			}
			if err := builders[base].add(v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, failure.Incompletef("import %s: %w", folder, err)
		}
		return nil, failure.Inputf("import %s: %w", folder, err)
	}
	if len(builders) == 0 {
		return nil, failure.Inputf("import %s: no OSV records found (%d files skipped as not OSV JSON)", folder, skipped)
	}
	var out []Info
	for _, base := range sortedKeys(builders) {
		b := builders[base]
		b.skipped = skipped
		info, err := b.write(dbDir, Info{Source: absPath(folder)})
		if err != nil {
			return out, err
		}
		out = append(out, info)
	}
	return out, nil
}
