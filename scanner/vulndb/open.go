package vulndb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/userfile"
	bolt "go.etcd.io/bbolt"

	"github.com/imagegate/imagegate/failure"
)

// OpenPath opens what --db names: a database artifact (oci://REF, pulled into the user
// cache when missing or changed), a database folder, or a folder of OSV export zips
// (<Ecosystem>/all.zip or *.zip, like the demo data) or one such zip. Each zip is indexed
// once into the user cache (keyed by its path, size and time, and checked against its
// digest) and reused.
//
// A database artifact is pulled with the registry settings ro (credentials, plain HTTP,
// transport), the scan's own.
func OpenPath(ctx context.Context, path string, ro ...RemoteOptions) (*Store, error) {
	if ref, ok := strings.CutPrefix(path, ArtifactScheme); ok {
		var o RemoteOptions
		if len(ro) > 0 {
			o = ro[0]
		}
		return openArtifact(ctx, ref, o)
	}
	st, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, failure.WithSetting(failure.Incompletef("no vulnerability database at %s: run 'imagegate db update' (or 'imagegate db import' for offline data), or name another database", path), "db")
		}
		return nil, failure.Incompletef("vulnerability database %s: %w", path, unwrapPath(err))
	}
	zips, err := findZips(path, st.IsDir())
	if err != nil {
		return nil, err
	}
	if len(zips) == 0 {
		return Open(path)
	}
	if infos, err := readInfos(path); err == nil && len(infos) > 0 {
		return Open(path) // an imported database that also keeps its zips
	}
	// <Ecosystem>/all.zip is indexed when a scan first asks for that ecosystem: an image
	// with Alpine and npm packages never pays for Debian's or Maven's index. A zip whose
	// ecosystem only its records tell is indexed now.
	s := &Store{dir: path, infos: map[string]Info{}, dirs: map[string]string{}, lazy: map[string]string{}, dbs: map[string]*bolt.DB{}, ctx: ctx}
	for _, z := range zips {
		if eco := ecosystemFromZipPath(z); eco != "" {
			// Checked now (a regular file the user can read), read when needed.
			if err := userfile.Check(z, "OSV export"); err != nil {
				return nil, err
			}
			s.lazy[eco] = z
			continue
		}
		if err := s.indexZip(ctx, z, ""); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// indexZip opens the index of one export zip in the user cache, building it first when it
// is missing, unfinished, or was built from another zip.
func (s *Store) indexZip(ctx context.Context, z, eco string) error {
	dir, err := zipIndexDir([]string{z})
	if err != nil {
		return err
	}
	infos, err := readInfos(dir)
	_, cerr := os.Stat(filepath.Join(dir, "complete"))
	if err != nil || len(infos) == 0 || cerr != nil || !indexedFrom(infos, []string{z}) {
		if err := clearDir(dir); err != nil {
			return err
		}
		if _, err := importZipFile(ctx, dir, z, eco, Info{Source: z}); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
			return failure.Incompletef("vulnerability index %s: %w", dir, unwrapPath(err))
		}
		if infos, err = readInfos(dir); err != nil {
			return err
		}
	}
	for base, info := range infos {
		s.infos[base], s.dirs[base] = info, dir
	}
	return nil
}

// ecosystemFromZipPath names the ecosystem of <Ecosystem>/all.zip; other names are
// decided by their records.
func ecosystemFromZipPath(p string) string {
	if filepath.Base(p) == "all.zip" {
		if e := filepath.Base(filepath.Dir(p)); slices.Contains(ecosystem.Names(), e) {
			return e
		}
	}
	return ""
}

func findZips(path string, isDir bool) ([]string, error) {
	if !isDir {
		if strings.HasSuffix(path, ".zip") {
			return []string{absPath(path)}, nil
		}
		return nil, failure.WithSetting(failure.Inputf("vulnerability database %s: not a folder or a .zip file", path), "db")
	}
	var zips []string
	for _, pattern := range []string{"*.zip", "*/all.zip"} {
		m, err := filepath.Glob(filepath.Join(path, pattern))
		if err != nil {
			return nil, failure.WithSetting(failure.Inputf("vulnerability database %s: %w", path, err), "db")
		}
		for _, z := range m {
			zips = append(zips, absPath(z))
		}
	}
	sort.Strings(zips)
	return zips, nil
}

func zipIndexDir(zips []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "format %d\n", FormatVersion)
	for _, z := range zips {
		st, err := os.Stat(z)
		if err != nil {
			return "", failure.WithSetting(failure.Inputf("vulnerability database %s: %w", z, unwrapPath(err)), "db")
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", z, st.Size(), st.ModTime().UnixNano())
	}
	return userfile.CacheDir("zip-index", hex.EncodeToString(h.Sum(nil))[:20])
}

// indexedFrom says whether an index was built from exactly these zips as they are now
// (each one's sha256 is the one recorded when it was indexed).
func indexedFrom(infos map[string]Info, zips []string) bool {
	recorded := map[string]string{}
	for _, i := range infos {
		recorded[i.Source] = i.SHA256
	}
	for _, z := range zips {
		want, ok := recorded[z]
		if !ok || want == "" {
			return false
		}
		f, err := os.Open(z)
		if err != nil {
			return false
		}
		got, err := fileSHA256(f)
		f.Close()
		if err != nil || got != want {
			return false
		}
	}
	return true
}

// clearDir empties a folder of ours.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return failure.Incompletef("vulnerability index %s: %w", dir, unwrapPath(err))
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return failure.Incompletef("vulnerability index %s: %w", dir, unwrapPath(err))
		}
	}
	return nil
}
