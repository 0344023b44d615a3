package flags

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/trust"
)

// Trust are the flags that say whose signatures are believed: a public key, or an
// identity and issuer (keyless) under a trusted root; Insecure believes unsigned ones.
type Trust struct {
	Key, Identity, IdentityRegexp, Issuer, Root string
	Insecure                                    bool
	prefix                                      string
	source                                      string // the config's section, when it named the signer
}

// Register adds the flags, each name after prefix ("" for rescan and db pull, "db-" for
// the database a scan uses); insecure names the opt-out flag, and what says what is
// signed.
func (t *Trust) Register(fl *pflag.FlagSet, prefix, insecure, what string) {
	t.prefix = prefix
	fl.StringVar(&t.Key, prefix+"verify-key", "", "public key (PEM, as cosign writes it) that signs "+what)
	fl.StringVar(&t.Identity, prefix+"certificate-identity", "", "keyless: the signer's identity in its certificate for "+what+" (a workflow ref such as https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main)")
	fl.StringVar(&t.IdentityRegexp, prefix+"certificate-identity-regexp", "", "keyless: a regular expression the whole identity must match, for a signer whose ref varies (a release workflow run on tags: https://github\\.com/org/repo/\\.github/workflows/release\\.yml@refs/tags/v.*)")
	fl.StringVar(&t.Issuer, prefix+"certificate-oidc-issuer", "", "keyless: the OIDC issuer of that identity (https://token.actions.githubusercontent.com for GitHub Actions)")
	fl.StringVar(&t.Root, prefix+"trusted-root", "", "keyless: sigstore's trusted_root.json (or the lines 'gh attestation trusted-root' prints) to verify certificates and log entries against, offline")
	if insecure != "" { // a command that only checks names no way around the check
		fl.BoolVar(&t.Insecure, insecure, false, "believe "+what+" unsigned (anyone who can push can replace them): warned")
	}
}

// Default takes the signer from the config file's trust section when no flag of this
// group was given (a flag always wins; the config cannot believe unsigned data).
func (t *Trust) Default(c config.Signer, source string) {
	if c == (config.Signer{}) || t.Key != "" || t.Identity != "" || t.IdentityRegexp != "" || t.Issuer != "" || t.Root != "" || t.Insecure {
		return
	}
	t.Key, t.Identity, t.IdentityRegexp, t.Issuer, t.Root = c.VerifyKey, c.CertificateIdentity, c.CertificateIdentityRegexp, c.CertificateOIDCIssuer, c.TrustedRoot
	t.source = source
}

// Verifier is the verifier the flags (or the config) name (nil: none named).
func (t *Trust) Verifier() (*trust.Verifier, error) {
	v, err := t.verifier()
	if err != nil && t.source != "" {
		return nil, fmt.Errorf("%s: %w", t.source, err)
	}
	return v, err
}

func (t *Trust) verifier() (*trust.Verifier, error) {
	keyless := t.Identity != "" || t.IdentityRegexp != "" || t.Issuer != "" || t.Root != ""
	switch {
	case t.Key != "" && keyless:
		return nil, failure.Inputf("--%sverify-key or --%scertificate-identity/--%scertificate-oidc-issuer/--%strusted-root: one way to verify, not both", t.prefix, t.prefix, t.prefix, t.prefix)
	case t.Key != "":
		v, err := trust.KeyVerifier(t.Key)
		if err != nil {
			return nil, failure.WithSetting(err, t.prefix+"verify-key")
		}
		return v, nil
	case keyless && t.Root == "":
		return nil, failure.WithSetting(failure.Inputf("keyless verification takes --%strusted-root (sigstore's trusted_root.json): it is offline", t.prefix), t.prefix+"trusted-root")
	case keyless:
		v, err := trust.IdentityVerifier(t.Root, trust.Identity{Subject: t.Identity, SubjectRegexp: t.IdentityRegexp, Issuer: t.Issuer})
		if err != nil {
			return nil, failure.WithSetting(err, t.prefix+"certificate-identity")
		}
		return v, nil
	}
	return nil, nil
}

// Signing are the flags that say how to sign: --sign with --key (a key the user holds), or
// --sign alone, keyless (a Fulcio certificate for the CI job's OIDC identity, logged in
// Rekor), as cosign signs.
type Signing struct {
	Sign          bool
	Key           string
	Fulcio, Rekor string
}

// Register adds the flags; what says what is signed.
func (s *Signing) Register(fl *pflag.FlagSet, what string) {
	fl.BoolVar(&s.Sign, "sign", false, "sign "+what+": with --key, or keyless without it (a short-lived Fulcio certificate for the job's OIDC identity, logged in Rekor; in GitHub Actions with 'permissions: id-token: write', elsewhere SIGSTORE_ID_TOKEN)")
	fl.StringVar(&s.Key, "key", "", "private key to sign with: an ECDSA P-256 PEM key, or cosign's encrypted key (password in IMAGEGATE_KEY_PASSWORD or COSIGN_PASSWORD)")
	fl.StringVar(&s.Fulcio, "fulcio-url", trust.PublicFulcio, "keyless: the Fulcio that certifies the job's identity (the OIDC token goes there only)")
	fl.StringVar(&s.Rekor, "rekor-url", trust.PublicRekor, "keyless: the Rekor transparency log the signature is recorded in")
}

// Signer is the signer the flags name (nil: --sign not given). Keyless asks for the OIDC
// token now, so a job without one fails before any work.
func (s *Signing) Signer(ctx context.Context) (trust.Signer, error) {
	switch {
	case !s.Sign && s.Key != "":
		return nil, failure.Inputf("--key signs only with --sign")
	case !s.Sign:
		return nil, nil
	case s.Key != "":
		k, err := trust.LoadKey(s.Key, trust.KeyPassword())
		if err != nil {
			return nil, err
		}
		return k, nil
	}
	tok, err := trust.IDToken(ctx)
	if err != nil {
		return nil, err
	}
	return trust.Keyless{FulcioURL: s.Fulcio, RekorURL: s.Rekor, IDToken: tok}, nil
}
