package reporttest_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/reporttest"
)

// The result the reporters are tested on holds every kind, and never the secret in clear.
func TestEveryKind(t *testing.T) {
	res := reporttest.EveryKind(t)
	kinds := reporttest.Kinds(res)
	for _, k := range []string{"vulnerability", "dockerfile", "image", "secret", "suppressed-ignore", "suppressed-vex", "below-threshold"} {
		assert.True(t, kinds[k], "the result has no %s finding", k)
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(b), reporttest.AWSSecret)
	assert.NotContains(t, string(b), "Tr0ub4dor")
}

// Fingerprints identify findings across runs (SARIF partialFingerprints, PR comments).
func TestFingerprintsAreStableAcrossRuns(t *testing.T) {
	a, b := reporttest.EveryKind(t), reporttest.EveryKind(t)
	require.Equal(t, len(a.Findings), len(b.Findings))
	fa, fb := map[string]bool{}, map[string]bool{}
	for i := range a.Findings {
		fa[a.Findings[i].Fingerprint] = true
		fb[b.Findings[i].Fingerprint] = true
	}
	assert.Equal(t, fa, fb)
	assert.Len(t, fa, len(a.Findings), "fingerprints are unique within a run")
}
