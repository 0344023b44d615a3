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
