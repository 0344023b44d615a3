package vulndb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// Ratings only: AlmaLinux's ratings beside a full Alpine import lend themselves to Alpine's
// CVEs, in a file a fraction of AlmaLinux's own full index; AlmaLinux's packages are not
// matched (the store has no data for them: a scan of an AlmaLinux image is incomplete).
func TestImportRatingsOnly(t *testing.T) {
	ctx := context.Background()
	root := imagetest.RepoRoot(t)
	alma := filepath.Join(root, "testdata", "osv-almalinux", "AlmaLinux", "all.zip")
	db := t.TempDir()
	_, err := vulndb.Import(ctx, db, filepath.Join(root, "testdata", "osv", "Alpine", "all.zip"))
	require.NoError(t, err)
	info, err := vulndb.ImportRatings(ctx, db, alma)
	require.NoError(t, err)
	assert.Equal(t, "AlmaLinux", info.Ecosystem)
	assert.Equal(t, 23, info.Records)

	s, err := vulndb.Open(db)
	require.NoError(t, err)
	defer s.Close()
	assert.False(t, s.Has("AlmaLinux:9"), "no packages are matched against ratings")
	sc, found, err := s.Score("Alpine", []string{"CVE-2025-9230"})
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, vulndb.Rating, sc.Type)
	assert.Regexp(t, `^ALSA-`, sc.Source)

	// Its size against the same export imported whole.
	full := t.TempDir()
	_, err = vulndb.Import(ctx, full, alma)
	require.NoError(t, err)
	ratings, err := os.Stat(filepath.Join(db, "AlmaLinux.ratings.scores"))
	require.NoError(t, err)
	index, err := os.Stat(filepath.Join(full, "AlmaLinux.db"))
	require.NoError(t, err)
	t.Logf("ratings %d bytes, full index %d bytes", ratings.Size(), index.Size())
	assert.LessOrEqual(t, ratings.Size()*10, index.Size(), "at most a tenth of the full index")

	// A tampered ratings file is refused, never read.
	require.NoError(t, os.WriteFile(filepath.Join(db, "AlmaLinux.ratings.scores"), []byte("CVE-2025-9230\t-1\tCritical\tALSA-X\n"), 0o644))
	s2, err := vulndb.Open(db)
	require.NoError(t, err)
	defer s2.Close()
	_, _, err = s2.Score("Alpine", []string{"CVE-2025-9230"})
	assert.ErrorContains(t, err, "ratings are corrupt")
}

// AlmaLinux's advisories rate the CVEs they fix ("Moderate: openssl security update"):
// the scores lend the rating under each CVE they name as related, for the same
// distribution first (Own) and as another vendor's for any other; a CVE nobody rates
// has nothing.
func TestRatingsByRelatedCVE(t *testing.T) {
	db := t.TempDir()
	b, err := os.ReadFile(filepath.Join(imagetest.RepoRoot(t), "testdata", "osv-almalinux", "AlmaLinux", "all.zip"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(db, "AlmaLinux"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(db, "AlmaLinux", "all.zip"), b, 0o644))
	s, err := vulndb.OpenPath(context.Background(), db)
	require.NoError(t, err)
	defer s.Close()

	own, found, err := s.Score("AlmaLinux", []string{"CVE-2025-9230"})
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, vulndb.Rating, own.Type)
	assert.True(t, own.Own, "the same distribution's rating")
	assert.Regexp(t, `^ALSA-`, own.Source)
	assert.Contains(t, []string{"Low", "Moderate", "Important", "Critical"}, own.Vector)

	other, found, err := s.Score("Alpine", []string{"CVE-2025-9230"})
	require.NoError(t, err)
	require.True(t, found)
	assert.False(t, other.Own, "another vendor's, for an Alpine finding")
	assert.Equal(t, own.Source, other.Source)

	_, found, err = s.Score("Alpine", []string{"CVE-2024-58251"})
	require.NoError(t, err)
	assert.False(t, found, "busybox's CVE: AlmaLinux does not name it")
}
