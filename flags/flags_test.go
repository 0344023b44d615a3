package flags_test

import (
	"context"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/flags"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/trust"
)

func parse(t *testing.T, register func(*pflag.FlagSet), args ...string) {
	t.Helper()
	fl := pflag.NewFlagSet("test", pflag.ContinueOnError)
	register(fl)
	require.NoError(t, fl.Parse(args))
}

// The scan flags become the scan request: the policy, the image's registry among the
// hosts the credentials are for (docker.io as references spell it), the limits.
func TestScanRequest(t *testing.T) {
	var f flags.Scan
	parse(t, f.Register, "--severity-threshold", "high", "--credentials-for", "docker.io", "--max-file-size", "1024", "--db", "/data/db")
	r, err := f.Request("registry.example:5000/team/app:1")
	require.NoError(t, err)
	assert.Equal(t, "HIGH", r.Policy.Threshold.String())
	assert.ElementsMatch(t, []string{"index.docker.io", "registry.example:5000"}, r.Registry.CredentialsFor)
	assert.Equal(t, int64(1024), r.Limits.MaxFileSize)
	assert.Equal(t, "/data/db", r.Data.DB)
	assert.Nil(t, r.Data.Verifier)

	for _, bad := range [][]string{
		{"--severity-threshold", "unknown"},
		{"--format", "pdf"},
		{"--credentials-for", "not a host"},
		{"--unknown-severity", "sometimes"},
	} {
		var g flags.Scan
		parse(t, g.Register, bad...)
		_, err := g.Request("app:1")
		require.Error(t, err, bad)
		assert.Equal(t, failure.ExitInput, failure.Code(err), bad)
	}
}

// Whose signatures are believed: a key, or an identity under a trusted root, named by the
// flags or, where no flag names one, by the config; never both ways at once.
func TestTrust(t *testing.T) {
	_, _, pub := imagetest.SigningKey(t)
	var tr flags.Trust
	parse(t, func(fl *pflag.FlagSet) { tr.Register(fl, "db-", "insecure-unsigned-db", "the data") }, "--db-verify-key", pub)
	v, err := tr.Verifier()
	require.NoError(t, err)
	assert.NotNil(t, v)

	// The config names the signer only where no flag does.
	tr.Default(config.Signer{VerifyKey: "/nonexistent/other.pub"}, "imagegate.yaml trust.db")
	v, err = tr.Verifier()
	require.NoError(t, err, "the flag's key, not the config's")
	assert.NotNil(t, v)
	var fromConfig flags.Trust
	parse(t, func(fl *pflag.FlagSet) { fromConfig.Register(fl, "", "insecure-unsigned-sbom", "SBOMs") })
	fromConfig.Default(config.Signer{VerifyKey: "/nonexistent/other.pub"}, "imagegate.yaml trust.sbom")
	_, err = fromConfig.Verifier()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "imagegate.yaml trust.sbom", "an error names the config's section")

	var both flags.Trust
	parse(t, func(fl *pflag.FlagSet) { both.Register(fl, "", "insecure-unsigned-sbom", "SBOMs") }, "--verify-key", pub, "--certificate-identity", "x", "--certificate-oidc-issuer", "y", "--trusted-root", "z")
	_, err = both.Verifier()
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))

	var noRoot flags.Trust
	parse(t, func(fl *pflag.FlagSet) { noRoot.Register(fl, "", "insecure-unsigned-sbom", "SBOMs") }, "--certificate-identity", "x", "--certificate-oidc-issuer", "y")
	_, err = noRoot.Verifier()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--trusted-root")
}

// --sign signs with --key when given, else keyless with the job's OIDC token; --key alone
// is refused, and keyless without a token says how to get one.
func TestSigning(t *testing.T) {
	k, priv, _ := imagetest.SigningKey(t)
	var s flags.Signing
	parse(t, func(fl *pflag.FlagSet) { s.Register(fl, "it") }, "--sign", "--key", priv)
	signer, err := s.Signer(context.Background())
	require.NoError(t, err)
	assert.Equal(t, k.GetHint(), signer.(*trust.Key).GetHint())

	var keyOnly flags.Signing
	parse(t, func(fl *pflag.FlagSet) { keyOnly.Register(fl, "it") }, "--key", priv)
	_, err = keyOnly.Signer(context.Background())
	require.Error(t, err)

	t.Setenv("SIGSTORE_ID_TOKEN", "")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	t.Setenv("GITHUB_ACTIONS", "")
	var keyless flags.Signing
	parse(t, func(fl *pflag.FlagSet) { keyless.Register(fl, "it") }, "--sign")
	_, err = keyless.Signer(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SIGSTORE_ID_TOKEN")
	t.Setenv("SIGSTORE_ID_TOKEN", "a.b.c")
	signer, err = keyless.Signer(context.Background())
	require.NoError(t, err)
	assert.Equal(t, trust.Keyless{FulcioURL: trust.PublicFulcio, RekorURL: trust.PublicRekor, IDToken: "a.b.c"}, signer)

	var none flags.Signing
	parse(t, func(fl *pflag.FlagSet) { none.Register(fl, "it") })
	signer, err = none.Signer(context.Background())
	require.NoError(t, err)
	assert.Nil(t, signer)
}
