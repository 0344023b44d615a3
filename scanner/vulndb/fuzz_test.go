package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

// FuzzImport imports an OSV export whose one record is arbitrary bytes, seeded with real
// records: never a panic; a record that imports can be queried back.
func FuzzImport(f *testing.F) {
	for _, eco := range []string{"npm", "Alpine", "Debian", "PyPI"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "osv-records", eco, "*.json"))
		for i, p := range files {
			if i >= 2 {
				break
			}
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"id":"X","affected":[{"package":{"ecosystem":"npm","name":""}}]}`))
	f.Fuzz(func(t *testing.T, record []byte) {
		dir := t.TempDir()
		zpath := filepath.Join(dir, "all.zip")
		zf, err := os.Create(zpath)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(zf)
		w, err := zw.Create("X.json")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(record)
		zw.Close()
		zf.Close()
		db := filepath.Join(dir, "db")
		infos, err := Import(context.Background(), db, zpath)
		if err != nil || len(infos) == 0 {
			return
		}
		s, err := Open(db)
		if err != nil {
			t.Fatalf("imported but cannot open: %v", err)
		}
		defer s.Close()
	})
}

// FuzzOpenStore opens a store folder whose index file holds arbitrary bytes, once with
// the size and digest recorded for it (so bbolt itself reads the bytes) and once without:
// the lookup fails cleanly or answers, never faulting the process.
func FuzzOpenStore(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xde, 0xad}, 8192))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "npm.db"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		for _, digest := range []string{hex.EncodeToString(sum[:]), "0"} {
			info, _ := json.Marshal(Info{Ecosystem: "npm", Format: FormatVersion, Size: int64(len(data)), IndexSHA256: digest})
			if err := os.WriteFile(filepath.Join(dir, "npm.json"), info, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir)
			if err != nil {
				continue
			}
			s.Query("npm", "minimist")
			s.Close()
		}
	})
}

// FuzzDecode reads arbitrary bytes as a package entry and as a record, seeded with the
// encodings of real records: never a panic, and an entry that decodes whole encodes back
// to entries that decode the same.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "osv-records", "*", "*.json"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		v, err := decode(data)
		if err != nil {
			continue
		}
		var compact []Affected
		for _, a := range v.GetAffected() {
			compact = append(compact, CompactAffected(a, a.GetPackage().GetEcosystem()))
		}
		f.Add(encodeEntry(v.GetId(), compact))
		f.Add(encodeRecord(CompactRecord(v)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeRecord(bytes.Clone(b))
		entries, err := decodeEntries(bytes.Clone(b))
		if err != nil {
			return
		}
		var again []byte
		for _, e := range entries {
			again = append(again, encodeEntry(e.id, e.Affected)...)
		}
		back, err := decodeEntries(again)
		if err != nil || !reflect.DeepEqual(back, entries) {
			t.Fatalf("decoded entries do not survive encoding: %v", err)
		}
	})
}

// A package value that claims more entries, ranges or events than its bytes can hold is
// corrupt at once, before anything is allocated for them.
func TestDecodeRefusesCountsPastTheValue(t *testing.T) {
	e := &encoder{}
	e.str("GHSA-1")
	e.n(1 << 40) // affected entries
	if _, err := decodeEntries(e.b); err == nil {
		t.Fatal("a count of 2^40 entries in 10 bytes was accepted")
	}
	var before, after runtime.MemStats
	e = &encoder{}
	e.str("GHSA-1")
	e.n(100_000)
	e.b = append(e.b, make([]byte, 100_000)...) // 100,000 bytes: fewer than 6 per entry
	runtime.ReadMemStats(&before)
	_, err := decodeEntries(e.b)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("100,000 entries in 100,000 bytes were accepted")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("%d bytes allocated for a corrupt value", grew)
	}
}
