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

	"github.com/imagegate/imagegate/scanner/failure"
)

// OpenPath opens what --db names: a database folder, or a folder of OSV export zips
// (<Ecosystem>/all.zip or *.zip, like the demo data) or one such zip. Zips are indexed
// once into the user cache (keyed by their paths, sizes and times) and reused.
func OpenPath(ctx context.Context, path string) (*Store, error) {
	st, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, failure.Incompletef("no vulnerability database at %s: run 'imagegate db update' (or 'imagegate db import' for offline data), or pass --db", path)
		}
		return nil, failure.Incompletef("vulnerability database %s: %v", path, unwrapPath(err))
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
	dir, err := zipIndexDir(zips)
	if err != nil {
		return nil, err
	}
	if infos, err := readInfos(dir); err == nil && len(infos) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
			return Open(dir)
		}
	}
	for _, z := range zips {
		if _, err := importZipFile(ctx, dir, z, ecosystemFromZipPath(z), Info{Source: z}); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
		return nil, failure.Incompletef("vulnerability index %s: %v", dir, unwrapPath(err))
	}
	return Open(dir)
}

// ecosystemFromZipPath names the ecosystem of <Ecosystem>/all.zip; other names are
// decided by their records.
func ecosystemFromZipPath(p string) string {
	if filepath.Base(p) == "all.zip" {
		if e := filepath.Base(filepath.Dir(p)); slices.Contains(Ecosystems, e) {
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
		return nil, failure.Inputf("--db %s: not a folder or a .zip file", path)
	}
	var zips []string
	for _, pattern := range []string{"*.zip", "*/all.zip"} {
		m, err := filepath.Glob(filepath.Join(path, pattern))
		if err != nil {
			return nil, failure.Inputf("--db %s: %v", path, err)
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
			return "", failure.Inputf("--db %s: %v", z, unwrapPath(err))
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", z, st.Size(), st.ModTime().UnixNano())
	}
	key := hex.EncodeToString(h.Sum(nil))[:20]
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "imagegate", "zip-index", key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		dir = filepath.Join(os.TempDir(), "imagegate-zip-index-"+key)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", failure.Incompletef("no writable folder for the vulnerability index: %v", unwrapPath(err))
		}
	}
	return dir, nil
}
