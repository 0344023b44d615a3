package scanner_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
)

// A finding without a rating of its own (Alpine's records carry none) takes another
// vendor's rating for the same CVE when one is imported (AlmaLinux rates the CVEs it
// fixes), and says where it came from; with none anywhere it stays UNKNOWN: a severity is
// never invented. The verdict counts the gate decisions that rest on a borrowed rating.
func TestSeverityBorrowedFromAnotherVendor(t *testing.T) {
	root := imagetest.RepoRoot(t)
	db := t.TempDir()
	for eco, zipPath := range map[string]string{
		"Alpine":    filepath.Join(root, "testdata", "osv", "Alpine", "all.zip"),
		"AlmaLinux": filepath.Join(root, "testdata", "osv-almalinux", "AlmaLinux", "all.zip"),
	} {
		b, err := os.ReadFile(zipPath)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(db, eco), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(db, eco, "all.zip"), b, 0o644))
	}
	ratings := almaRatings(t, filepath.Join(root, "testdata", "osv-almalinux", "AlmaLinux", "all.zip"))

	res, err := scanner.New().Scan(context.Background(), scanner.Request{
		Image:  filepath.Join(root, "testdata", "demo", "demo-image.tar"),
		Checks: []string{scanner.ScannerVuln},
		Data:   scanner.Data{DB: db, MaxAge: 100 * 365 * 24 * time.Hour},
	})
	require.NoError(t, err)
	borrowed, unknown := 0, 0
	for _, f := range res.Findings {
		if f.Package == nil || !strings.HasPrefix(f.Package.Ecosystem, "Alpine") {
			continue
		}
		rated := false
		for _, id := range f.IDs() {
			if _, ok := ratings.byCVE[id]; ok {
				rated = true
			}
		}
		if !rated {
			assert.Equal(t, report.Unknown, f.Severity, "%s: nobody rates it", f.ID)
			assert.Empty(t, f.SeveritySource, f.ID)
			unknown++
			continue
		}
		borrowed++
		require.NotNil(t, f.Vendor, f.ID)
		assert.Equal(t, "other-vendor", f.SeveritySource, f.ID)
		assert.True(t, f.Borrowed())
		assert.Contains(t, ratings.byCVE[f.ID], f.Vendor.Source, "%s: rated by an advisory that names it", f.ID)
		assert.Equal(t, ratings.rating[f.Vendor.Source], f.Vendor.Rating, "%s: the rating %s gives", f.ID, f.Vendor.Source)
		assert.NotEqual(t, report.Unknown, f.Severity)
	}
	assert.Positive(t, borrowed)
	assert.Positive(t, unknown, "and some CVEs stay unrated")
	assert.Positive(t, res.Verdict.Borrowed)
	assert.Contains(t, res.Verdict.Note(), "gate on a severity borrowed from another advisory")
}

type alma struct {
	byCVE  map[string][]string // CVE -> the ALSA ids that name it
	rating map[string]string   // ALSA id -> its rating, from its summary
}

func almaRatings(t *testing.T, path string) alma {
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	a := alma{byCVE: map[string][]string{}, rating: map[string]string{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		var v struct {
			ID      string   `json:"id"`
			Summary string   `json:"summary"`
			Related []string `json:"related"`
		}
		require.NoError(t, json.Unmarshal(b, &v))
		r, _, _ := strings.Cut(v.Summary, ": ")
		a.rating[v.ID] = r
		for _, c := range v.Related {
			a.byCVE[c] = append(a.byCVE[c], v.ID)
		}
	}
	return a
}
