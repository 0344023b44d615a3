package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/config"
)

// The trust section names signers as the flags do; its file paths are the config file's
// neighbours, and a key it does not know is refused.
func TestTrustSection(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".imagegate.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`trust:
  sbom:
    certificate-identity-regexp: https://github\.com/org/app/.*
    certificate-oidc-issuer: https://token.actions.githubusercontent.com
    trusted-root: roots/trusted_root.jsonl
  db:
    verify-key: /etc/imagegate/db.pub
`), 0o644))
	c, err := config.Load(p)
	require.NoError(t, err)
	assert.Equal(t, config.Signer{CertificateIdentityRegexp: `https://github\.com/org/app/.*`, CertificateOIDCIssuer: "https://token.actions.githubusercontent.com", TrustedRoot: filepath.Join(dir, "roots", "trusted_root.jsonl")}, c.Trust.SBOM)
	assert.Equal(t, config.Signer{VerifyKey: "/etc/imagegate/db.pub"}, c.Trust.DB)

	// No switch that believes unsigned data exists here.
	require.NoError(t, os.WriteFile(p, []byte("trust:\n  sbom:\n    insecure-unsigned-sbom: true\n"), 0o644))
	_, err = config.Load(p)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
}
