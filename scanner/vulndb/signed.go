package vulndb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/attach"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/userfile"
	"github.com/imagegate/imagegate/trust"
)

// Predicate is the predicate type of a database artifact's signature: an in-toto
// statement about the artifact's digest saying what it holds, attached beside it as an
// SBOM's is. The digest binds every layer; the predicate is what 'db status' shows.
const Predicate = "https://github.com/imagegate/imagegate/vulndb/v1"

// Signed is what a database artifact's signature says it holds.
type Signed struct {
	Format     int               `json:"format"`
	Ecosystems []SignedEcosystem `json:"ecosystems"`
}

// SignedEcosystem is one ecosystem of a signed artifact: its record count, when its data
// was last known current (for an import, its newest record's modified time) and its
// index's digest.
type SignedEcosystem struct {
	Ecosystem   string    `json:"ecosystem"`
	Records     int       `json:"records"`
	Updated     time.Time `json:"updated"`
	IndexSHA256 string    `json:"indexSha256"`
}

// signedMark keeps, beside pulled data, what its signature said (shown by db status);
// signatureMark keeps the signature itself, verified again before a copy is used without
// the registry (restored caches are inputs, not authority).
const (
	signedMark    = ".signed.json"
	signatureMark = ".signature.json"
)

func (o RemoteOptions) imageOptions(r name.Reference) []image.Option {
	// The artifact's registry is the one the user named.
	opts := []image.Option{image.WithInsecure(o.Insecure), image.WithRegistries(r.Context().RegistryStr())}
	if o.Keychain != nil {
		opts = append(opts, image.WithKeychain(o.Keychain))
	}
	if o.Transport != nil {
		opts = append(opts, image.WithTransport(o.Transport))
	}
	return opts
}

// sign attaches the signature of the artifact at r@digest: what s holds, signed by signer.
func sign(ctx context.Context, r name.Reference, digest string, s *Store, signer trust.Signer, o RemoteOptions) error {
	p := Signed{Format: FormatVersion}
	for _, info := range s.Infos() {
		p.Ecosystems = append(p.Ecosystems, SignedEcosystem{Ecosystem: info.Ecosystem, Records: info.Records, Updated: info.Updated.UTC(), IndexSHA256: info.IndexSHA256})
	}
	pred, err := json.Marshal(p)
	if err != nil {
		return err
	}
	b, err := trust.Attest(ctx, signer, trust.Subject{Name: r.Context().Name(), Digest: digest}, Predicate, pred)
	if err != nil {
		return failure.Incompletef("db push: signing: %w", err)
	}
	_, err = attach.PushAttestation(ctx, r.Context().Digest(digest).String(), b, Predicate, time.Now(), o.imageOptions(r)...)
	return err
}

// verifySigned checks the signature of the artifact at r@digest as o requires; nil with
// AllowUnsigned. Anything else is refused: exit 3, naming the setting.
func verifySigned(ctx context.Context, r name.Reference, digest string, o RemoteOptions) (*Signed, []byte, error) {
	if o.Verifier == nil {
		if o.AllowUnsigned {
			return nil, nil, nil
		}
		return nil, nil, failure.WithSetting(failure.Incompletef("db pull %s: the artifact's signature is not checked, so it is not used: give the key (db-verify-key) or the identity (db-certificate-identity, db-certificate-oidc-issuer, db-trusted-root) that signs it, or allow unsigned data (insecure-unsigned-db)", r), "db-verify-key")
	}
	found, err := attach.FindVerified(ctx, r.Context().Digest(digest).String(), Predicate, o.Verifier, o.imageOptions(r)...)
	if errors.Is(err, attach.ErrNone) {
		err = errors.New("no signature is attached")
	}
	if err != nil {
		return nil, nil, failure.WithSetting(failure.Incompletef("db pull %s: not signed as required (%v): refused; the previous data is kept", r, err), "db-verify-key")
	}
	s, err := signedPayload(found.SBOM)
	if err != nil {
		return nil, nil, failure.Incompletef("db pull %s: %w: refused", r, err)
	}
	return s, found.Bundle, nil
}

func signedPayload(b []byte) (*Signed, error) {
	var s Signed
	if err := json.Unmarshal(b, &s); err != nil || s.Format != FormatVersion {
		return nil, errors.New("its signature is for another index layout")
	}
	return &s, nil
}

// VerifyPulled checks a folder pulled from a signed artifact as the pull did, without the
// registry: the signature kept beside it verifies with v for the artifact the folder
// names, and its indexes are the ones that signature names.
func VerifyPulled(dir string, v *trust.Verifier) error {
	_, digest, ok := pulledArtifact(dir)
	if !ok {
		return errors.New("it was not pulled from an artifact ('imagegate db pull')")
	}
	return verifyKept(dir, digest, v)
}

// pulledArtifact is the artifact the folder says it was pulled from: its ref and digest.
func pulledArtifact(dir string) (ref, digest string, ok bool) {
	mark := PulledFrom(dir)
	at := strings.LastIndex(mark, "@")
	if at < 0 {
		return "", "", false
	}
	return mark[:at], mark[at+1:], true
}

// maxSignature bounds the kept signature read back (a Sigstore bundle is a few KiB; the
// folder may be a restored cache).
const maxSignature = 1 << 20

// verifyLocal checks the copy of ref in dir as the pull that installed it did, without the
// registry: the signature kept beside it verifies for the artifact digest the folder
// names, and the folder's indexes are the ones that signature names (each index is then
// checked against its digest when it is opened).
func verifyLocal(dir, ref string, v *trust.Verifier) error {
	pulled, digest, ok := pulledArtifact(dir)
	if !ok || pulled != ref {
		return fmt.Errorf("the folder names no pull of %s", ref)
	}
	return verifyKept(dir, digest, v)
}

// verifyKept checks the signature kept in dir for the artifact digest its folder names,
// and the folder's indexes against what that signature names.
func verifyKept(dir, digest string, v *trust.Verifier) error {
	bundle, err := userfile.Read(filepath.Join(dir, signatureMark), "the kept signature", maxSignature)
	if err != nil {
		return fmt.Errorf("no signature is kept beside it that can be read: %w", err)
	}
	payload, err := v.VerifyAttestation(bundle, digest, Predicate)
	if err != nil {
		return fmt.Errorf("the signature kept beside it does not verify: %w", err)
	}
	signed, err := signedPayload(payload)
	if err != nil {
		return err
	}
	s, err := Open(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	return matchesSigned(signed, s.Infos(), true)
}

// keepSignature writes, beside data just pulled or found current, what its signature said
// and the signature; unsigned data (AllowUnsigned) has neither.
func keepSignature(dir string, signed *Signed, bundle []byte) {
	if signed == nil {
		os.Remove(filepath.Join(dir, signedMark))
		os.Remove(filepath.Join(dir, signatureMark))
		return
	}
	if b, err := json.Marshal(signed); err == nil {
		_ = os.WriteFile(filepath.Join(dir, signedMark), b, 0o644)
	}
	_ = os.WriteFile(filepath.Join(dir, signatureMark), bundle, 0o644)
}

// matchesSigned checks a folder's indexes (infos) against the digests their signature
// names: every one it names is there and is the one it names; with only, there is no
// other.
func matchesSigned(s *Signed, infos []Info, only bool) error {
	have := map[string]string{}
	for _, info := range infos {
		have[info.Ecosystem] = info.IndexSHA256
	}
	for _, e := range s.Ecosystems {
		if have[e.Ecosystem] != e.IndexSHA256 {
			return fmt.Errorf("the %s index is not the one the signature names", e.Ecosystem)
		}
		delete(have, e.Ecosystem)
	}
	if others := slices.Sorted(maps.Keys(have)); only && len(others) > 0 {
		return fmt.Errorf("the %s index is not one the signature names", others[0])
	}
	return nil
}

// SignedBy reads what the signature of the data in dir said, when it was pulled signed.
func SignedBy(dir string) (*Signed, bool) {
	b, err := os.ReadFile(filepath.Join(dir, signedMark))
	if err != nil {
		return nil, false
	}
	var s Signed
	return &s, json.Unmarshal(b, &s) == nil
}
