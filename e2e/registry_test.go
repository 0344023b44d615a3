package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"

	"golang.org/x/crypto/bcrypt"
)

// registry is Debian's docker-registry on loopback with htpasswd auth and TLS from a CA
// the test makes.
type registry struct {
	host   string // 127.0.0.1:port
	caFile string
	pool   *x509.CertPool
}

const regUser, regPass = "ci", "s3cret-registry-pass"

func startRegistry(t *testing.T) *registry {
	t.Helper()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Fatal("docker-registry is not installed: source .ci/services")
	}
	dir := t.TempDir()
	caFile, certFile, keyFile, pool := makeTLS(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte(regPass), bcrypt.DefaultCost)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(regUser+":"+string(hash)+"\n"), 0o600))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: %s}}
http: {addr: %s, tls: {certificate: %s, key: %s}}
auth: {htpasswd: {realm: imagegate-e2e, path: %s}}
`, filepath.Join(dir, "data"), host, certFile, keyFile, filepath.Join(dir, "htpasswd"))
	cfgFile := filepath.Join(dir, "config.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfg), 0o644))
	cmd := exec.Command("docker-registry", "serve", cfgFile)
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("https://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the registry asks for credentials")
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry did not start: %v\n%s", err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return &registry{host: host, caFile: caFile, pool: pool}
}

// push writes the demo image to the registry as repo:tag.
func (r *registry) push(t *testing.T, repoTag string) string {
	t.Helper()
	img, err := tarball.ImageFromPath(repo(t, "testdata", "demo", "demo-image.tar"), nil)
	require.NoError(t, err)
	return r.pushImage(t, repoTag, img)
}

// pushImage writes img to repoTag with the registry's credentials.
func (r *registry) pushImage(t *testing.T, repoTag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	require.NoError(t, err)
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: r.pool}
	require.NoError(t, remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass}), remote.WithTransport(tr)))
	return ref.String()
}

// makeTLS writes a CA and a server certificate for 127.0.0.1 and localhost signed by it.
func makeTLS(t *testing.T, dir string) (caFile, certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imagegate e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600))
		return p
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER), pool
}

// scan runs the CLI with a clean HOME and the CA trusted through SSL_CERT_FILE.
func (r *registry) scan(t *testing.T, env []string, args ...string) result {
	t.Helper()
	home := t.TempDir()
	base := []string{"HOME=" + home, "DOCKER_CONFIG=" + filepath.Join(home, ".docker"), "SSL_CERT_FILE=" + r.caFile, "IMAGEGATE_USERNAME=", "IMAGEGATE_PASSWORD="}
	all := append([]string{"scan", "--db", repo(t, "testdata", "osv"), "--fail-on-issues=false", "-f", "json"}, args...)
	return run(t, repo(t), append(base, env...), 5*time.Minute, binary(t), all...)
}

func scannedFrom(t *testing.T, r result) (transport, digest string) {
	t.Helper()
	var doc struct {
		Image struct {
			Transport string `json:"transport"`
			Digest    string `json:"digest"`
		} `json:"image"`
		Findings []json.RawMessage `json:"findings"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), r.String())
	assert.NotEmpty(t, doc.Findings)
	return doc.Image.Transport, doc.Image.Digest
}

// Scans from a registry with htpasswd auth and TLS: credentials from flags, from a docker
// login config, and from a credential helper; a wrong password is exit 2 with one clear
// line and no secret in it.
func TestRegistryCredentials(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.push(t, "team/demo:1")

	t.Run("flags", func(t *testing.T) {
		res := reg.scan(t, nil, "--username", regUser, "--password", regPass, ref)
		require.Equal(t, 0, res.code, res.String())
		tr, digest := scannedFrom(t, res)
		assert.Equal(t, "registry", tr)
		assert.True(t, strings.HasPrefix(digest, "sha256:"))
	})

	t.Run("docker login config", func(t *testing.T) {
		cfg := t.TempDir()
		auth := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPass))
		require.NoError(t, os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+reg.host+`":{"auth":"`+auth+`"}}}`), 0o600))
		res := reg.scan(t, []string{"DOCKER_CONFIG=" + cfg}, ref)
		require.Equal(t, 0, res.code, res.String())
	})

	t.Run("docker login", func(t *testing.T) {
		// The real `docker login`, which asks the daemon to check the credentials: the
		// daemon trusts the test's CA through certs.d for this registry only.
		certs := filepath.Join("/etc/docker/certs.d", reg.host)
		if err := os.MkdirAll(certs, 0o755); err != nil {
			t.Skipf("cannot configure the daemon's registry CA: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(certs) })
		ca, err := os.ReadFile(reg.caFile)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(certs, "ca.crt"), ca, 0o644))
		cfg := t.TempDir()
		login := exec.Command("docker", "--config", cfg, "login", reg.host, "-u", regUser, "--password-stdin")
		login.Stdin = strings.NewReader(regPass)
		out, err := login.CombinedOutput()
		require.NoError(t, err, "%s", out)
		res := reg.scan(t, []string{"DOCKER_CONFIG=" + cfg}, ref)
		require.Equal(t, 0, res.code, res.String())
	})

	t.Run("credential helper", func(t *testing.T) {
		bin := t.TempDir()
		helper := "#!/bin/sh\nread server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"" + regUser + "\",\"Secret\":\"" + regPass + "\"}' \"$server\"\n"
		require.NoError(t, os.WriteFile(filepath.Join(bin, "docker-credential-e2e"), []byte(helper), 0o755))
		cfg := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"credHelpers":{"`+reg.host+`":"e2e"}}`), 0o600))
		res := reg.scan(t, []string{"DOCKER_CONFIG=" + cfg, "PATH=" + bin + ":" + os.Getenv("PATH")}, ref)
		require.Equal(t, 0, res.code, res.String())
	})

	for name, args := range map[string][]string{
		"wrong password": {"--username", regUser, "--password", "not-the-password"},
		"no credentials": nil,
	} {
		t.Run(name, func(t *testing.T) {
			res := reg.scan(t, nil, append(args, ref)...)
			assert.Equal(t, 2, res.code, res.String())
			errLines := lines(strings.TrimSpace(res.stderr), "imagegate:")
			require.Len(t, errLines, 1, res.stderr)
			assert.Contains(t, errLines[0], "credentials")
			assert.NotContains(t, res.stderr, "not-the-password")
			assert.Empty(t, res.stdout, "no partial report")
		})
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		home := t.TempDir()
		res := run(t, repo(t), []string{"HOME=" + home, "DOCKER_CONFIG=" + home, "SSL_CERT_FILE=/dev/null"}, time.Minute, binary(t),
			"scan", "--db", repo(t, "testdata", "osv"), "--username", regUser, "--password", regPass, ref)
		assert.NotEqual(t, 0, res.code)
		assert.Contains(t, res.stderr, "certificate")
	})
}

// A bare name is read from the Docker daemon when it has the image (what `docker build -t`
// made a step earlier), and --image-source changes the order.
func TestBareNameFromTheDaemon(t *testing.T) {
	docker(t, "load", "-i", repo(t, "testdata", "demo", "demo-image.tar"))
	docker(t, "tag", "imagegate/demo:1", "imagegate-e2e/app:123")
	home := t.TempDir()
	env := []string{"HOME=" + home, "DOCKER_CONFIG=" + home}
	res := run(t, repo(t), env, 5*time.Minute, binary(t), "scan", "--db", repo(t, "testdata", "osv"), "--fail-on-issues=false", "-f", "json", "imagegate-e2e/app:123")
	require.Equal(t, 0, res.code, res.String())
	tr, _ := scannedFrom(t, res)
	assert.Equal(t, "docker-daemon", tr)

	// Every platform: a daemon's image is of one, scanned as it is (saved once).
	res = run(t, repo(t), env, 5*time.Minute, binary(t), "scan", "--db", repo(t, "testdata", "osv"), "--fail-on-issues=false", "-f", "json", "--platform", "all", "imagegate-e2e/app:123")
	require.Equal(t, 0, res.code, res.String())
	tr, _ = scannedFrom(t, res)
	assert.Equal(t, "docker-daemon", tr)

	// Registry only: the daemon's copy is not used (and Docker Hub cannot be reached here).
	res = run(t, repo(t), env, 5*time.Minute, binary(t), "scan", "--db", repo(t, "testdata", "osv"), "--image-source", "registry", "imagegate-e2e/app:123")
	assert.NotEqual(t, 0, res.code)
	assert.NotContains(t, res.stdout, "docker-daemon")
	assert.Len(t, lines(strings.TrimSpace(res.stderr), "imagegate:"), 1, res.stderr)

	// A name the daemon does not have goes on to the registry, and says so when that fails.
	res = run(t, repo(t), env, 5*time.Minute, binary(t), "scan", "--db", repo(t, "testdata", "osv"), "imagegate-e2e/absent:1")
	assert.NotEqual(t, 0, res.code)
	assert.Contains(t, res.stderr, "the daemon has no such image")
}

// The vulnerability database as an OCI artifact through the real registry (TLS, htpasswd,
// credentials from a docker login config): db push, db pull into another folder, a scan
// with --db oci://REF (pulled into the cache), and the artifact's manifest as any client
// sees it (media types, one layer per ecosystem, annotations).
func TestDatabaseArtifact(t *testing.T) {
	reg := startRegistry(t)
	cfg := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPass))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+reg.host+`":{"auth":"`+auth+`"}}}`), 0o600))
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "DOCKER_CONFIG=" + cfg, "SSL_CERT_FILE=" + reg.caFile}
	cli := func(args ...string) result { return run(t, repo(t), env, 5*time.Minute, binary(t), args...) }

	src := filepath.Join(t.TempDir(), "db")
	res := cli("db", "import", "--db", src, repo(t, "testdata", "osv", "npm", "all.zip"), repo(t, "testdata", "osv", "Alpine", "all.zip"), repo(t, "testdata", "osv", "Go", "all.zip"))
	require.Equal(t, 0, res.code, res.String())
	ref := reg.host + "/imagegate/vulndb:latest"
	_, privKey, pubKey := imagetest.SigningKey(t)
	res = cli("db", "push", "--db", src, ref, "--sign", "--key", privKey)
	require.Equal(t, 0, res.code, res.String())
	assert.Contains(t, res.stdout, "pushed "+ref+"@sha256:")

	dst := filepath.Join(t.TempDir(), "pulled")
	res = cli("db", "pull", "--db", dst, ref)
	assert.Equal(t, 3, res.code, "no key to verify it with: not used\n%s", res)
	assert.Contains(t, res.stderr, "verify-key")
	res = cli("db", "pull", "--db", dst, ref, "--verify-key", pubKey)
	require.Equal(t, 0, res.code, res.String())
	assert.Contains(t, res.stdout, "Alpine, Go, npm")
	res = cli("db", "status", "--db", dst)
	require.Equal(t, 0, res.code, res.String())
	assert.Contains(t, res.stdout, "artifact "+ref+"@sha256:")
	assert.Contains(t, res.stdout, "signature verified when pulled")

	res = cli("scan", "--db", "oci://"+ref, "--db-verify-key", pubKey, "--fail-on-issues=false", "-f", "json", repo(t, "testdata", "demo", "demo-image.tar"))
	require.Equal(t, 0, res.code, res.String())
	assert.Contains(t, res.stdout, `"CVE-2021-44906"`)

	// The signer named in .imagegate.yaml (trust.db, a path beside it) where no flag names
	// one; a flag wins over it.
	project := t.TempDir()
	pub, err := os.ReadFile(pubKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(project, "db.pub"), pub, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(project, ".imagegate.yaml"), []byte("trust:\n  db:\n    verify-key: db.pub\n"), 0o644))
	projectCfg := filepath.Join(project, ".imagegate.yaml")
	res = cli("scan", "--config", projectCfg, "--db", "oci://"+ref, "--fail-on-issues=false", "-f", "json", repo(t, "testdata", "demo", "demo-image.tar"))
	require.Equal(t, 0, res.code, res.String())
	assert.Contains(t, res.stdout, `"CVE-2021-44906"`)
	res = cli("db", "pull", "--config", projectCfg, "--db", filepath.Join(t.TempDir(), "pulled"), ref)
	require.Equal(t, 0, res.code, res.String())
	_, _, otherPub := imagetest.SigningKey(t)
	res = cli("db", "pull", "--config", projectCfg, "--db", filepath.Join(t.TempDir(), "pulled"), ref, "--verify-key", otherPub)
	assert.Equal(t, 3, res.code, "the flag's key, not the config's\n%s", res)

	// A decoy pushed over another tag without the key is refused, naming the setting.
	decoy := filepath.Join(t.TempDir(), "decoy")
	res = cli("db", "import", "--db", decoy, repo(t, "testdata", "osv-pypi", "PyPI", "all.zip"))
	require.Equal(t, 0, res.code, res.String())
	res = cli("db", "push", "--db", decoy, reg.host+"/imagegate/vulndb:decoy")
	require.Equal(t, 0, res.code, res.String())
	res = cli("scan", "--db", "oci://"+reg.host+"/imagegate/vulndb:decoy", "--db-verify-key", pubKey, "-f", "json", repo(t, "testdata", "demo", "demo-image.tar"))
	assert.Equal(t, 3, res.code, res.String())
	assert.Contains(t, res.stderr, "--db-verify-key")
	assert.Empty(t, res.stdout)

	// What a registry client sees.
	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: reg.pool}
	img, err := remote.Image(r, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass}), remote.WithTransport(tr))
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	assert.Equal(t, "application/vnd.imagegate.vulndb.config.v1+json", string(m.Config.MediaType))
	require.Len(t, m.Layers, 3)
	for _, l := range m.Layers {
		assert.Equal(t, "application/vnd.imagegate.vulndb.ecosystem.v1.tar+gzip", string(l.MediaType))
		assert.NotEmpty(t, l.Annotations["io.imagegate.vulndb.ecosystem"])
		assert.NotEmpty(t, l.Annotations["io.imagegate.vulndb.updated"])
	}
	assert.NotEmpty(t, m.Annotations["io.imagegate.vulndb.format"])
}
