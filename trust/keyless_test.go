package trust_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/trust"
)

const (
	digest   = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	workflow = "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main"
)

var sbom = []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`)

// Keyless, end to end through sigstore-go's Fulcio and Rekor clients: the bundle carries a
// certificate for the token's identity and a log entry, and verifies offline against the
// trusted root for that identity and issuer only.
func TestKeylessSignThenVerify(t *testing.T) {
	ss := imagetest.NewSigstore(t)
	signer := trust.Keyless{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IDToken: ss.Token(workflow, trust.PublicIssuerGitHub)}
	b, err := trust.Attest(context.Background(), signer, trust.Subject{Name: "registry.example/app", Digest: digest}, trust.CycloneDXPredicate, sbom)
	require.NoError(t, err)
	var doc struct {
		VerificationMaterial struct {
			Certificate any   `json:"certificate"`
			TlogEntries []any `json:"tlogEntries"`
		} `json:"verificationMaterial"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.NotNil(t, doc.VerificationMaterial.Certificate, "a Fulcio certificate, not a key hint")
	assert.Len(t, doc.VerificationMaterial.TlogEntries, 1)

	v, err := trust.IdentityVerifier(ss.TrustedRoot, trust.Identity{Subject: workflow, Issuer: trust.PublicIssuerGitHub})
	require.NoError(t, err)
	got, err := v.VerifyAttestation(b, digest, trust.CycloneDXPredicate)
	require.NoError(t, err)
	assert.JSONEq(t, string(sbom), string(got))

	fork, err := trust.IdentityVerifier(ss.TrustedRoot, trust.Identity{Subject: strings.Replace(workflow, "org/app", "evil/app", 1), Issuer: trust.PublicIssuerGitHub})
	require.NoError(t, err)
	_, err = fork.VerifyAttestation(b, digest, trust.CycloneDXPredicate)
	assert.ErrorIs(t, err, trust.ErrNotTrusted, "another workflow")

	// Another Sigstore's root does not trust this one's certificates or log.
	other := imagetest.NewSigstore(t)
	elsewhere, err := trust.IdentityVerifier(other.TrustedRoot, trust.Identity{Subject: workflow, Issuer: trust.PublicIssuerGitHub})
	require.NoError(t, err)
	_, err = elsewhere.VerifyAttestation(b, digest, trust.CycloneDXPredicate)
	assert.ErrorIs(t, err, trust.ErrNotTrusted, "another trusted root")

	// Both roots as the JSON lines 'gh attestation trusted-root' prints: either may sign.
	var lines []byte
	for _, p := range []string{other.TrustedRoot, ss.TrustedRoot} {
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		var c bytes.Buffer
		require.NoError(t, json.Compact(&c, raw))
		lines = append(append(lines, c.Bytes()...), '\n')
	}
	jsonl := filepath.Join(t.TempDir(), "trusted_root.jsonl")
	require.NoError(t, os.WriteFile(jsonl, lines, 0o644))
	both, err := trust.IdentityVerifier(jsonl, trust.Identity{Subject: workflow, Issuer: trust.PublicIssuerGitHub})
	require.NoError(t, err)
	_, err = both.VerifyAttestation(b, digest, trust.CycloneDXPredicate)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(jsonl, []byte("{\"mediaType\":1}\nnot json\n"), 0o644))
	_, err = trust.IdentityVerifier(jsonl, trust.Identity{Subject: workflow, Issuer: trust.PublicIssuerGitHub})
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err), err.Error())
}

// A token Fulcio does not accept, a service over plain http to another host, no token at
// all: each is an error, and nothing is signed.
func TestKeylessRefusals(t *testing.T) {
	ss := imagetest.NewSigstore(t)
	subj := trust.Subject{Name: "registry.example/app", Digest: digest}
	_, err := trust.Attest(context.Background(), trust.Keyless{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IDToken: "a.b.c"}, subj, trust.CycloneDXPredicate, sbom)
	require.Error(t, err)
	_, err = trust.Attest(context.Background(), trust.Keyless{FulcioURL: "http://fulcio.example", RekorURL: ss.RekorURL, IDToken: ss.Token(workflow, trust.PublicIssuerGitHub)}, subj, trust.CycloneDXPredicate, sbom)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err), err.Error())

	t.Setenv("SIGSTORE_ID_TOKEN", "")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	t.Setenv("GITHUB_ACTIONS", "true")
	_, err = trust.IDToken(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "id-token: write")
	t.Setenv("SIGSTORE_ID_TOKEN", "tok.en.x")
	tok, err := trust.IDToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok.en.x", tok)
}
