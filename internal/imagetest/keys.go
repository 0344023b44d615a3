package imagetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/imagegate/imagegate/trust"
)

// SigningKey makes a P-256 key pair in a temporary folder: the key, its private key file
// (PEM, as 'sbom --sign --key' and 'db push --sign --key' read it) and its public key file
// (as --verify-key reads it).
func SigningKey(t testing.TB) (key *trust.Key, private, public string) {
	t.Helper()
	k, err := trust.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := k.PrivatePEM()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	private, public = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(private, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(public, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return k, private, public
}

// Signer is a key pair the test makes, with the verifier of its public key.
type Signer struct {
	Key      *trust.Key
	Verifier *trust.Verifier
}

// NewSigner makes a key pair and its verifier (trust.KeyVerifier of the public key file).
func NewSigner(t testing.TB) Signer {
	t.Helper()
	k, _, pub := SigningKey(t)
	v, err := trust.KeyVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return Signer{k, v}
}
