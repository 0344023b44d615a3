package trust

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var sbom = []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"minimist","purl":"pkg:npm/minimist@1.2.5"}]}`)

func keyFiles(t *testing.T) (*Key, string, string) {
	t.Helper()
	k, err := GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	priv, err := k.PrivatePEM()
	require.NoError(t, err)
	pub, err := k.PublicPEM()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), priv, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pub"), pub, 0o644))
	return k, filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub")
}

// What is attested with a key verifies with its public key, for its subject and
// predicate type only; another key, another image, a changed statement do not.
func TestAttestAndVerifyWithAKey(t *testing.T) {
	_, privPath, pubPath := keyFiles(t)
	k, err := LoadKey(privPath, nil)
	require.NoError(t, err)
	b, err := Attest(context.Background(), k, Subject{Name: "registry.example/app", Digest: digest}, CycloneDXPredicate, sbom)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.Equal(t, "application/vnd.dev.sigstore.bundle.v0.3+json", doc["mediaType"])
	assert.Contains(t, doc, "dsseEnvelope")

	v, err := KeyVerifier(pubPath)
	require.NoError(t, err)
	got, err := v.VerifyAttestation(b, digest, CycloneDXPredicate)
	require.NoError(t, err)
	assert.JSONEq(t, string(sbom), string(got))

	_, err = v.VerifyAttestation(b, "sha256:"+strings.Repeat("f", 64), CycloneDXPredicate)
	assert.ErrorIs(t, err, ErrNotTrusted, "another image")
	_, err = v.VerifyAttestation(b, digest, "https://spdx.dev/Document")
	assert.ErrorIs(t, err, ErrNotTrusted, "another predicate type")

	_, _, otherPub := keyFiles(t)
	other, err := KeyVerifier(otherPub)
	require.NoError(t, err)
	_, err = other.VerifyAttestation(b, digest, CycloneDXPredicate)
	assert.ErrorIs(t, err, ErrNotTrusted, "another key")

	// The payload changed after signing: an empty SBOM in place of the real one.
	env := doc["dsseEnvelope"].(map[string]any)
	forged := strings.Replace(string(b), env["payload"].(string), "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==", 1)
	_, err = v.VerifyAttestation([]byte(forged), digest, CycloneDXPredicate)
	assert.ErrorIs(t, err, ErrNotTrusted, "a changed statement")
	_, err = v.VerifyAttestation(sbom, digest, CycloneDXPredicate)
	assert.ErrorIs(t, err, ErrNotTrusted, "not a bundle")
}

// A key encrypted as 'cosign generate-key-pair' writes it loads with its password.
func TestCosignEncryptedKey(t *testing.T) {
	k, _, _ := keyFiles(t)
	priv, err := k.PrivatePEM()
	require.NoError(t, err)
	block, _ := pem.Decode(priv)
	ct, err := encrypted.Encrypt(block.Bytes, []byte("s3cret"))
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "cosign.key")
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: ct}), 0o600))
	got, err := LoadKey(p, []byte("s3cret"))
	require.NoError(t, err)
	assert.Equal(t, k.GetHint(), got.GetHint())
	_, err = LoadKey(p, []byte("wrong"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot decrypt")
}

// Keyless: a certificate for the configured identity from the configured issuer, logged,
// under the trusted root; another identity or issuer is not trusted.
func TestKeylessIdentity(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	require.NoError(t, err)
	st, err := json.Marshal(statement{Type: StatementType, Subject: []subject{{Name: "app", Digest: map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}}, PredicateType: CycloneDXPredicate, Predicate: sbom})
	require.NoError(t, err)
	const id, issuer = "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main", "https://token.actions.githubusercontent.com"
	e, err := vs.Attest(id, issuer, st)
	require.NoError(t, err)
	v, err := identityVerifier(vs, Identity{Subject: id, Issuer: issuer})
	require.NoError(t, err)
	got, err := v.verify(e, digest, CycloneDXPredicate)
	require.NoError(t, err)
	assert.JSONEq(t, string(sbom), string(got))
	for _, c := range [][2]string{{"https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main", issuer}, {id, "https://accounts.example.com"}} {
		other, err := identityVerifier(vs, Identity{Subject: c[0], Issuer: c[1]})
		require.NoError(t, err)
		_, err = other.verify(e, digest, CycloneDXPredicate)
		assert.ErrorIs(t, err, ErrNotTrusted, c)
	}
	_, err = identityVerifier(vs, Identity{Subject: id})
	require.Error(t, err)

	// A regular expression matches the whole subject: a tag's release workflow matches;
	// the same words inside another repository's ref do not.
	for re, trusted := range map[string]bool{
		`https://github\.com/org/app/\.github/workflows/release\.yml@refs/(heads|tags)/.*`: true,
		`https://github\.com/org/app/\.github/workflows/release\.yml@refs/tags/v.*`:        false,
		`org/app/\.github/workflows/release\.yml@refs/heads/main`:                          false,
	} {
		rv, err := identityVerifier(vs, Identity{SubjectRegexp: re, Issuer: issuer})
		require.NoError(t, err)
		_, err = rv.verify(e, digest, CycloneDXPredicate)
		assert.Equal(t, trusted, err == nil, "%s: %v", re, err)
	}
	_, err = identityVerifier(vs, Identity{Subject: id, SubjectRegexp: ".*", Issuer: issuer})
	require.Error(t, err, "one of the two")
	_, err = identityVerifier(vs, Identity{SubjectRegexp: "(", Issuer: issuer})
	require.Error(t, err)
}
