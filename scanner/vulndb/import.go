package vulndb

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/binary"
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
	"google.golang.org/protobuf/proto"

	"github.com/imagegate/imagegate/scanner/failure"
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
	base      string
	records   int
	packages  map[string][][]byte // package key -> the records naming it, cut to that package
	skipped   int
	withdrawn int
	newest    time.Time
	size      int64 // bytes of index entries held
	// scores maps every identifier of a record that carries a CVSS vector (its id,
	// aliases, upstream) to that vector: a finding whose own advisories carry none takes
	// it from here (Store.Score).
	scores map[string]score
}

// MaxIndexBytes bounds the index entries one ecosystem's import holds in memory: an export
// whose records repeat a large text for many packages fails here instead of exhausting
// memory (today's largest real ecosystem needs about 60 MiB).
const MaxIndexBytes = 512 << 20

func newBuilder(base string) *builder {
	return &builder{base: base, packages: map[string][][]byte{}, scores: map[string]score{}}
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

// add stores v and indexes its affected packages of the builder's base ecosystem. Each
// package's index entry holds the record cut down to what matching reads (the affected
// entries of that package, no details): a lookup decodes only that, however many packages
// an advisory lists.
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
	for n, k := range keys {
		slim := &osvschema.Vulnerability{
			Id:               v.GetId(),
			Aliases:          v.GetAliases(),
			Upstream:         v.GetUpstream(),
			Summary:          v.GetSummary(),
			Modified:         v.GetModified(),
			Severity:         v.GetSeverity(),
			DatabaseSpecific: v.GetDatabaseSpecific(),
			References:       v.GetReferences(),
			Affected:         byKey[k],
		}
		sraw, err := proto.Marshal(slim)
		if err != nil {
			return err
		}
		if n == 0 && b.size+int64(len(sraw))*int64(len(keys)) > MaxIndexBytes {
			// Checked before the copies are made: each package gets one of about this size.
			return failure.Inputf("the %s records need more than %d bytes to index (record %s repeats %d bytes for %d packages): not a usable export", b.base, MaxIndexBytes, v.GetId(), len(sraw), len(keys))
		}
		b.size += int64(len(sraw))
		b.packages[k] = append(b.packages[k], sraw)
	}
	if m := v.GetModified(); m != nil && m.AsTime().After(b.newest) {
		b.newest = m.AsTime()
	}
	return nil
}

// write builds <base>.db in a temporary file and renames it (then its Info) into place.
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
	err = db.Update(func(tx *bolt.Tx) error {
		pb, err := tx.CreateBucket(bucketPackages)
		if err != nil {
			return err
		}
		pb.FillPercent = 1 // written once, in key order
		for _, k := range sortedKeys(b.packages) {
			if err := pb.Put([]byte(k), joinRecords(b.packages[k])); err != nil {
				return err
			}
		}
		return nil
	})
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
	tmp, err := os.CreateTemp(dir, "."+info.Ecosystem+".json.*")
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
	if err := os.Rename(tmp.Name(), filepath.Join(dir, info.Ecosystem+".json")); err != nil {
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
			info, err = importZipFile(ctx, dir, p, "", Info{Source: absPath(p)})
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
	var recs []*osvschema.Vulnerability
	var decoded int64
	skipped := 0
	count := map[string]int{}
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return info, failure.Incompletef("import %s: %w", path, err)
		}
		if zf.FileInfo().IsDir() || !strings.HasSuffix(zf.Name, ".json") {
			continue
		}
		raw, err := readZipMember(zf)
		if err != nil {
			var ferr *failure.Error
			if errors.As(err, &ferr) {
				return info, fmt.Errorf("import %s: %w", path, err)
			}
			skipped++
			continue
		}
		// The records are held until the ecosystem is known: their JSON may add up to no
		// more than MaxExportBytes (real exports: tens of MiB).
		if decoded += int64(len(raw)); decoded > MaxExportBytes {
			return info, failure.Inputf("import %s: its records add up to more than %d bytes of JSON: not a usable export", path, MaxExportBytes)
		}
		v, err := decode(raw)
		if err != nil {
			skipped++
			continue
		}
		for _, b := range bases(v) {
			count[b]++
		}
		recs = append(recs, v)
	}
	base := want
	if base == "" {
		base = dominant(count)
	}
	if count[base] == 0 {
		return info, failure.Inputf("import %s: no OSV records in the zip (%d files skipped as not OSV JSON)", path, skipped)
	}
	b := newBuilder(base)
	b.skipped = skipped
	for _, v := range recs {
		if err := b.add(v); err != nil {
			var ferr *failure.Error
			if errors.As(err, &ferr) {
				return info, &failure.Error{Kind: ferr.Kind, Err: fmt.Errorf("import %s: %w", path, err)}
			}
			return info, failure.Incompletef("import %s: %w", path, err)
		}
	}
	return b.write(dir, info)
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

// joinRecords frames records as varint length + bytes, one after the other.
func joinRecords(recs [][]byte) []byte {
	var out []byte
	for _, r := range recs {
		out = binary.AppendUvarint(out, uint64(len(r)))
		out = append(out, r...)
	}
	return out
}

// splitRecords undoes joinRecords.
func splitRecords(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, errors.New("corrupt package entry")
		}
		out = append(out, b[w:w+int(n)])
		b = b[w+int(n):]
	}
	return out, nil
}
