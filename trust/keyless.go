package trust

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"

	"github.com/sethvargo/go-githubactions"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/imagegate/imagegate/failure"
)

// The public-good Sigstore instance: where keyless signing goes unless told otherwise.
const (
	PublicFulcio = "https://fulcio.sigstore.dev"
	PublicRekor  = "https://rekor.sigstore.dev"
	// PublicIssuerGitHub is the OIDC issuer of GitHub Actions' job tokens.
	PublicIssuerGitHub = "https://token.actions.githubusercontent.com"
)

// Keyless signs with a new key for each signature, certified by Fulcio for the identity in
// an OIDC token (the CI job's) and logged in Rekor: what 'cosign attest' does without
// --key. The token goes to Fulcio only; the signature and certificate to Rekor.
type Keyless struct {
	FulcioURL, RekorURL string
	IDToken             string
}

func (k Keyless) signWith(ctx context.Context) (sign.Keypair, sign.BundleOptions, error) {
	for _, u := range []string{k.FulcioURL, k.RekorURL} {
		if err := CheckTokenURL("keyless signing", u); err != nil {
			return nil, sign.BundleOptions{}, err
		}
	}
	if k.IDToken == "" {
		return nil, sign.BundleOptions{}, errors.New("keyless signing: no OIDC token")
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, sign.BundleOptions{}, err
	}
	return kp, sign.BundleOptions{
		Context:                    ctx,
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: strings.TrimSuffix(k.FulcioURL, "/"), Retries: 1}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: k.IDToken},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: strings.TrimSuffix(k.RekorURL, "/"), Retries: 1})},
	}, nil
}

// CheckTokenURL takes https URLs, and http only to this machine (a test's, or a private
// instance behind a local proxy), for a service a token is sent to (what names it): a
// token must not cross a network in the clear.
func CheckTokenURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return failure.Inputf("%s: %q is not a URL", what, raw)
	}
	host := u.Hostname()
	if u.Scheme == "https" || (u.Scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "::1")) {
		return nil
	}
	return failure.Inputf("%s: %s: want an https URL (http only to localhost)", what, raw)
}

// IDToken is the OIDC token keyless signing presents to Fulcio: SIGSTORE_ID_TOKEN (as
// cosign reads it), else GitHub Actions' job token for the audience "sigstore" (the job
// needs 'permissions: id-token: write'). Anything else is an input error that says so.
func IDToken(ctx context.Context) (string, error) {
	if t := strings.TrimSpace(os.Getenv("SIGSTORE_ID_TOKEN")); t != "" {
		return t, nil
	}
	if os.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "" && os.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") != "" {
		t, err := githubactions.New().GetIDToken(ctx, "sigstore")
		if err != nil {
			return "", failure.Incompletef("keyless signing: GitHub Actions' OIDC token: %w", err)
		}
		return t, nil
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		return "", failure.Inputf("keyless signing: this job cannot ask for an OIDC token: give it 'permissions: id-token: write'")
	}
	return "", failure.Inputf("keyless signing takes an OIDC token: run in GitHub Actions with 'permissions: id-token: write', or set SIGSTORE_ID_TOKEN; or sign with --key")
}
