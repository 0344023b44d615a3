package vulndb

import (
	"archive/zip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ossf/osv-schema/bindings/go/osvschema"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// ratingsSuffix names a ratings-only ecosystem's files: <Ecosystem>.ratings.json (its
// Info) and <Ecosystem>.ratings.scores (its vectors and ratings by identifier).
const ratingsSuffix = ".ratings"

// ImportRatings keeps only the severities of the export zip at path in dir: each record's
// CVSS vector or vendor rating under its identifiers and the CVEs it names as related (an
// AlmaLinux, Red Hat, SUSE or Ubuntu export rates CVEs other distributions leave unrated),
// not its packages: findings of other ecosystems borrow them (Store.Score), none is
// matched against it. A few per cent of the ecosystem's full index.
func ImportRatings(ctx context.Context, dir, path string) (Info, error) {
	return importRatings(ctx, dir, path, ecosystemFromZipPath(absPath(path)), Info{Source: absPath(path)})
}

// importRatings imports path's ratings as the ecosystem want (or, empty, the one most of
// its records affect); info carries what the download knows (source, ETag).
func importRatings(ctx context.Context, dir, path, want string, info Info) (Info, error) {
	info.Format, info.RatingsOnly = FormatVersion, true
	f, st, err := userfile.Open(path, "OSV export")
	if err != nil {
		return info, err
	}
	defer f.Close()
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return info, failure.Inputf("import %s: not a valid zip: %w", path, err)
	}
	m := map[string]score{}
	var newest time.Time
	_, count, err := eachRecord(ctx, zr, path, func(v *osvschema.Vulnerability) error {
		addScoreTo(m, v)
		if t := v.GetModified().AsTime(); t.After(newest) {
			newest = t
		}
		return nil
	})
	if err != nil {
		return info, err
	}
	if info.Ecosystem = want; want == "" {
		info.Ecosystem = dominant(count)
	}
	if info.Records = count[info.Ecosystem]; info.Records == 0 {
		return info, failure.Inputf("import %s: no OSV records of %s in the zip", path, info.Ecosystem)
	}
	if info.Updated.IsZero() {
		info.Updated = newest
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return info, failure.Incompletef("import %s: %w", path, unwrapPath(err))
	}
	if info.ScoresSHA256, err = writeScores(dir, info.Ecosystem+ratingsSuffix, m); err != nil {
		return info, err
	}
	return info, writeInfo(dir, info)
}

// readRatingInfos reads the ratings-only ecosystems of dir (those of another layout are
// left out: their ratings are not lent until they are imported again).
func readRatingInfos(dir string) map[string]Info {
	out := map[string]Info{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		eco, ok := strings.CutSuffix(e.Name(), ratingsSuffix+".json")
		if !ok || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		var info Info
		if err != nil || json.Unmarshal(b, &info) != nil || info.Format != FormatVersion || info.Ecosystem != eco || !info.RatingsOnly {
			continue
		}
		out[eco] = info
	}
	return out
}
