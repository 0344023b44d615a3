// Package trust signs and verifies what imagegate believes from a registry: an image's
// SBOM as an in-toto attestation in a Sigstore bundle (the format cosign attaches and
// 'cosign verify-attestation' reads), signed with a key and verified against the key or
// identity the user configured. sigstore-go does the signing and the verification; this
// package holds the keys, the statement and the policy.
package trust

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// Statement and predicate types: an in-toto v1 statement whose predicate is a CycloneDX
// document, as 'cosign attest --type cyclonedx' writes it.
const (
	StatementType      = "https://in-toto.io/Statement/v1"
	CycloneDXPredicate = "https://cyclonedx.org/bom"
	payloadType        = "application/vnd.in-toto+json"
)

// maxKeyFile bounds a key file read.
const maxKeyFile = 64 << 10

// Key is a private signing key: ECDSA P-256 (cosign's), read from a PEM file, in the
// clear (PKCS #8 or SEC 1) or encrypted as 'cosign generate-key-pair' writes it.
type Key struct {
	signer crypto.Signer
	hint   []byte
}

// LoadKey reads a private key. password decrypts an encrypted one (COSIGN_PASSWORD's
// role); it is not needed for a key in the clear.
func LoadKey(path string, password []byte) (*Key, error) {
	b, err := userfile.Read(path, "signing key", maxKeyFile)
	if err != nil {
		return nil, failure.WithSetting(err, "key")
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, failure.WithSetting(failure.Inputf("signing key %s: not a PEM file", path), "key")
	}
	der := block.Bytes
	if strings.HasPrefix(block.Type, "ENCRYPTED SIGSTORE") || strings.HasPrefix(block.Type, "ENCRYPTED COSIGN") {
		if der, err = encrypted.Decrypt(block.Bytes, password); err != nil {
			return nil, failure.WithSetting(failure.Inputf("signing key %s: cannot decrypt it with the password given (IMAGEGATE_KEY_PASSWORD or COSIGN_PASSWORD): %v", path, err), "key")
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(pem.EncodeToMemory(block), nil)
	if err != nil {
		return nil, failure.WithSetting(failure.Inputf("signing key %s: %v", path, err), "key")
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, failure.WithSetting(failure.Inputf("signing key %s: want an ECDSA P-256 key (cosign generate-key-pair, or openssl ecparam -name prime256v1)", path), "key")
	}
	return newKey(ec)
}

// GenerateKey makes a new P-256 key (tests, and 'imagegate' users without cosign).
func GenerateKey() (*Key, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return newKey(k)
}

func newKey(k crypto.Signer) (*Key, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &Key{signer: k, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}, nil
}

// PublicPEM is the public key, as 'cosign verify-attestation --key' takes it.
func (k *Key) PublicPEM() ([]byte, error) {
	return cryptoutils.MarshalPublicKeyToPEM(k.signer.Public())
}

// PrivatePEM is the private key in the clear (PKCS #8).
func (k *Key) PrivatePEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.signer)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// The sign.Keypair sigstore-go signs with.
func (k *Key) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}
func (k *Key) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}
func (k *Key) GetHint() []byte                { return k.hint }
func (k *Key) GetKeyAlgorithm() string        { return "ECDSA" }
func (k *Key) GetPublicKey() crypto.PublicKey { return k.signer.Public() }
func (k *Key) GetPublicKeyPem() (string, error) {
	b, err := k.PublicPEM()
	return string(b), err
}
func (k *Key) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	sum := sha256.Sum256(data)
	sig, err := k.signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	return sig, sum[:], err
}

var _ sign.Keypair = (*Key)(nil)

// Subject is what a statement is about: an image by name and sha256 digest.
type Subject struct {
	Name   string
	Digest string // sha256:HEX
}

func (s Subject) hex() (string, error) {
	h, ok := strings.CutPrefix(s.Digest, "sha256:")
	if _, err := hex.DecodeString(h); !ok || err != nil || len(h) != 64 {
		return "", fmt.Errorf("subject digest %q is not sha256:HEX", s.Digest)
	}
	return h, nil
}

type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// A Signer signs statements: a Key the user holds, or Keyless (a short-lived certificate
// for the CI job's identity, logged in Rekor).
type Signer interface {
	// signWith is the key pair and the bundle options sigstore-go signs with.
	signWith(ctx context.Context) (sign.Keypair, sign.BundleOptions, error)
}

func (k *Key) signWith(ctx context.Context) (sign.Keypair, sign.BundleOptions, error) {
	return k, sign.BundleOptions{Context: ctx}, nil
}

// Attest signs predicate (a JSON document of predicateType) about s with signer: an
// in-toto statement in a DSSE envelope, in a Sigstore bundle (v0.3) as JSON.
func Attest(ctx context.Context, signer Signer, s Subject, predicateType string, predicate []byte) ([]byte, error) {
	h, err := s.hex()
	if err != nil {
		return nil, err
	}
	if !json.Valid(predicate) {
		return nil, errors.New("the predicate is not JSON")
	}
	st, err := json.Marshal(statement{Type: StatementType, Subject: []subject{{Name: s.Name, Digest: map[string]string{"sha256": h}}}, PredicateType: predicateType, Predicate: predicate})
	if err != nil {
		return nil, err
	}
	kp, opts, err := signer.signWith(ctx)
	if err != nil {
		return nil, err
	}
	b, err := sign.Bundle(&sign.DSSEData{Data: st, PayloadType: payloadType}, kp, opts)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	pb, err := bundle.NewBundle(b)
	if err != nil {
		return nil, err
	}
	return pb.MarshalJSON()
}

// Verifier checks bundles against the key or identity the user configured.
type Verifier struct {
	v        *verify.Verifier
	identity *verify.CertificateIdentity // nil: a key
	what     string                      // for messages
}

// KeyVerifier trusts signatures by the public key in path (PEM, as cosign writes it).
func KeyVerifier(path string) (*Verifier, error) {
	b, err := userfile.Read(path, "verification key", maxKeyFile)
	if err != nil {
		return nil, failure.WithSetting(err, "verify-key")
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		return nil, failure.WithSetting(failure.Inputf("verification key %s: %v", path, err), "verify-key")
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, failure.WithSetting(failure.Inputf("verification key %s: %v", path, err), "verify-key")
	}
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, err
	}
	return &Verifier{v: v, what: "the key " + path}, nil
}

// IdentityVerifier trusts keyless signatures (a Fulcio certificate logged in Rekor) by the
// identity (the certificate's subject, as in a GitHub workflow's ref) from the OIDC issuer,
// under the trusted roots in trustedRoot: sigstore's trusted_root.json, or the JSON lines
// 'gh attestation trusted-root' prints (the public-good instance and GitHub's). Verification
// is offline.
func IdentityVerifier(trustedRoot string, id Identity) (*Verifier, error) {
	b, err := userfile.Read(trustedRoot, "trusted root", maxTrustedRoot)
	if err != nil {
		return nil, failure.WithSetting(err, "trusted-root")
	}
	material, err := parseTrustedRoots(b)
	if err != nil {
		return nil, failure.WithSetting(failure.Inputf("trusted root %s: %v", trustedRoot, err), "trusted-root")
	}
	return identityVerifier(material, id)
}

// maxTrustedRoot bounds a trusted-root file (sigstore's is about 10 KB).
const maxTrustedRoot = 4 << 20

func parseTrustedRoots(b []byte) (root.TrustedMaterial, error) {
	if json.Valid(b) {
		return root.NewTrustedRootFromJSON(b)
	}
	var all root.TrustedMaterialCollection
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		tr, err := root.NewTrustedRootFromJSON(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		all = append(all, tr)
	}
	if len(all) == 0 {
		return nil, errors.New("no trusted root in it")
	}
	return all, nil
}

// Identity is who may sign keylessly: the certificate's subject (a workflow ref, an
// email), exactly or as a regular expression the whole subject must match, from an OIDC
// issuer.
type Identity struct {
	Subject, SubjectRegexp, Issuer string
}

func (id Identity) String() string {
	if id.SubjectRegexp != "" {
		return "an identity matching " + id.SubjectRegexp + " (issuer " + id.Issuer + ")"
	}
	return "the identity " + id.Subject + " (issuer " + id.Issuer + ")"
}

func identityVerifier(material root.TrustedMaterial, id Identity) (*Verifier, error) {
	if (id.Subject == "") == (id.SubjectRegexp == "") || id.Issuer == "" {
		return nil, failure.WithSetting(failure.Inputf("keyless verification takes --certificate-oidc-issuer and one of --certificate-identity, --certificate-identity-regexp"), "certificate-identity")
	}
	re := ""
	if id.SubjectRegexp != "" {
		// Anchored: sigstore-go (like cosign) matches anywhere in the subject, so that
		// "org/app" would also trust "evil/org/app-fork".
		re = "^(?:" + id.SubjectRegexp + ")$"
		if _, err := regexp.Compile(re); err != nil {
			return nil, failure.WithSetting(failure.Inputf("--certificate-identity-regexp: %v", err), "certificate-identity-regexp")
		}
	}
	// The certificate must be logged (Rekor) and used while it was valid (the log's
	// time); a certificate transparency proof is not required.
	v, err := verify.NewVerifier(material, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		return nil, err
	}
	ci, err := verify.NewShortCertificateIdentity(id.Issuer, "", id.Subject, re)
	if err != nil {
		return nil, failure.Inputf("certificate identity: %v", err)
	}
	return &Verifier{v: v, identity: &ci, what: id.String()}, nil
}

// ErrNotTrusted wraps every reason a bundle is not believed.
var ErrNotTrusted = errors.New("not signed by the configured key or identity")

// VerifyAttestation checks that bundleJSON is a statement of predicateType about the
// image with digest (sha256:HEX), signed as the verifier requires, and returns its
// predicate.
func (v *Verifier) VerifyAttestation(bundleJSON []byte, digest, predicateType string) ([]byte, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle: %v", ErrNotTrusted, err)
	}
	return v.verify(&b, digest, predicateType)
}

func (v *Verifier) verify(e verify.SignedEntity, digest, predicateType string) ([]byte, error) {
	h, err := Subject{Digest: digest}.hex()
	if err != nil {
		return nil, err
	}
	raw, _ := hex.DecodeString(h)
	policy := verify.WithKey()
	if v.identity != nil {
		policy = verify.WithCertificateIdentity(*v.identity)
	}
	if _, err := v.v.Verify(e, verify.NewPolicy(verify.WithArtifactDigest("sha256", raw), policy)); err != nil {
		return nil, fmt.Errorf("%w (%s): %v", ErrNotTrusted, v.what, err)
	}
	sc, err := e.SignatureContent()
	if err != nil || sc.EnvelopeContent() == nil {
		return nil, fmt.Errorf("%w: not an attestation (no DSSE envelope)", ErrNotTrusted)
	}
	payload, err := sc.EnvelopeContent().RawEnvelope().DecodeB64Payload()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotTrusted, err)
	}
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("%w: the statement: %v", ErrNotTrusted, err)
	}
	if st.PredicateType != predicateType {
		return nil, fmt.Errorf("%w: a %s statement, not %s", ErrNotTrusted, st.PredicateType, predicateType)
	}
	for _, s := range st.Subject {
		if s.Digest["sha256"] == h {
			return st.Predicate, nil
		}
	}
	return nil, fmt.Errorf("%w: the statement is about another image", ErrNotTrusted)
}

// KeyPassword is the password for an encrypted key: IMAGEGATE_KEY_PASSWORD, else
// COSIGN_PASSWORD (what cosign users have set).
func KeyPassword() []byte {
	if p, ok := os.LookupEnv("IMAGEGATE_KEY_PASSWORD"); ok {
		return []byte(p)
	}
	return []byte(os.Getenv("COSIGN_PASSWORD"))
}
