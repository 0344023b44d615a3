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
