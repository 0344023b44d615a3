package scanflags

import (
	"github.com/spf13/pflag"

	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/trust"
)

// Trust are the flags that say whose signatures are believed: a public key, or an
// identity and issuer (keyless) under a trusted root; Insecure believes unsigned ones.
type Trust struct {
	Key, Identity, Issuer, Root string
	Insecure                    bool
	prefix                      string
}

// Register adds the flags, each name after prefix ("" for rescan and db pull, "db-" for
// the database a scan uses); insecure names the opt-out flag, and what says what is
// signed.
func (t *Trust) Register(fl *pflag.FlagSet, prefix, insecure, what string) {
	t.prefix = prefix
	fl.StringVar(&t.Key, prefix+"verify-key", "", "public key (PEM, as cosign writes it) that signs "+what)
	fl.StringVar(&t.Identity, prefix+"certificate-identity", "", "keyless: the signer's identity in its certificate for "+what+" (a workflow ref such as https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main)")
	fl.StringVar(&t.Issuer, prefix+"certificate-oidc-issuer", "", "keyless: the OIDC issuer of that identity (https://token.actions.githubusercontent.com for GitHub Actions)")
	fl.StringVar(&t.Root, prefix+"trusted-root", "", "keyless: sigstore's trusted_root.json to verify certificates and log entries against, offline")
	fl.BoolVar(&t.Insecure, insecure, false, "believe "+what+" unsigned (anyone who can push can replace them): warned")
}

// Verifier is the verifier the flags name (nil: none named).
func (t *Trust) Verifier() (*trust.Verifier, error) {
	keyless := t.Identity != "" || t.Issuer != "" || t.Root != ""
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
		v, err := trust.IdentityVerifier(t.Root, t.Identity, t.Issuer)
		if err != nil {
			return nil, failure.WithSetting(err, t.prefix+"certificate-identity")
		}
		return v, nil
	}
	return nil, nil
}
