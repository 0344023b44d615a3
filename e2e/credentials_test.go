package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
)

// Credentials given for Debian's docker-registry (TLS, htpasswd) never reach a second
// registry that an image's base annotation, a Dockerfile's FROM or a recommendation
// points at; that registry records every Authorization header. Naming it with
// --credentials-for is what sends them, so the test can fail.
func TestCredentialsStayWithTheRegistry(t *testing.T) {
	reg := startRegistry(t)
	evil := imagetest.NewRecorder(t)
	evilHost := evil.Host
	basic := evil.Basic

	base, err := tarball.ImageFromPath(repo(t, "testdata", "demo", "demo-image.tar"), nil)
	require.NoError(t, err)
	baseRef, err := name.ParseReference(evilHost + "/evil/base:1")
	require.NoError(t, err)
	require.NoError(t, remote.Write(baseRef, base))
	annotated := mutate.Annotations(base, map[string]string{"org.opencontainers.image.base.name": baseRef.String()}).(v1.Image)
	app := reg.pushImage(t, "team/app:1", annotated)
	df := filepath.Join(t.TempDir(), "Dockerfile")
	require.NoError(t, os.WriteFile(df, []byte("FROM "+baseRef.String()+"\nCOPY . /app\n"), 0o644))

	creds := []string{"--username", regUser, "--password", regPass}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"base annotation", append([]string{app, "--resolve-base"}, creds...)},
		{"Dockerfile FROM", append([]string{app, "--resolve-base", "--dockerfile", df}, creds...)},
	} {
		res := reg.scan(t, nil, c.args...)
		require.Contains(t, []int{0, 1}, res.code, "%s: %s", c.name, res)
		assert.Zero(t, basic(), "%s: credentials reached the other registry", c.name)
	}
	home := t.TempDir()
	env := []string{"HOME=" + home, "DOCKER_CONFIG=" + filepath.Join(home, ".docker"), "SSL_CERT_FILE=" + reg.caFile}
	res := run(t, repo(t), env, 5*time.Minute, binary(t), append([]string{"registry", "scan", reg.host + "/team/app", "--recommend", "--db", repo(t, "testdata", "osv"),
		"--fail-on-issues=false", "--output-dir", filepath.Join(home, "out")}, creds...)...)
	require.Contains(t, []int{0, 1, 3}, res.code, res.String())
	assert.Zero(t, basic(), "--recommend: credentials reached the other registry")

	res = reg.scan(t, nil, append([]string{app, "--resolve-base", "--credentials-for", evilHost}, creds...)...)
	require.Contains(t, []int{0, 1}, res.code, res.String())
	assert.Positive(t, basic(), "named with --credentials-for: they are sent")
}
