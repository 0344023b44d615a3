package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/fleettest"
	"github.com/imagegate/imagegate/internal/imagetest"
)

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error) { return r, nil }

func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// A registry's worth of images in Debian's docker-registry (TLS, htpasswd, no referrers
// API): the registry scan lists its catalog, scans each digest once (shared bases from the
// layer cache), reports an image whose config does not match its layers, a tag whose
// config is not JSON and a repository that does not exist, and still scans the others;
// shards merge into the whole; an attached SBOM (referrers tag schema) is re-checked
// without pulling layers.
func TestRegistryFleet(t *testing.T) {
	reg := startRegistry(t)
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: reg.pool}
	ropts := []remote.Option{remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass}), remote.WithTransport(tr)}
	imgs, err := fleettest.Build(repo(t), reg.host, fleettest.Spec{Repositories: 4, Tags: 6})
	require.NoError(t, err)
	broken, err := fleettest.Broken()
	require.NoError(t, err)
	imgs = append(imgs, fleettest.Image{Name: "team-z/broken:1", Image: broken})
	for _, im := range imgs {
		ref, err := name.ParseReference(reg.host + "/" + im.Name)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, im.Image, ropts...))
	}
	// A manifest whose config blob is not JSON: the registry stores it, no tool can read it.
	garbage := static.NewLayer([]byte("this is not an image config"), types.OCIConfigJSON)
	garbageRepo, err := name.NewRepository(reg.host + "/team-z/garbage")
	require.NoError(t, err)
	require.NoError(t, remote.WriteLayer(garbageRepo, garbage, ropts...))
	gd, _ := garbage.Digest()
	gs, _ := garbage.Size()
	raw, err := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: gd, Size: gs}, Layers: []v1.Descriptor{}})
	require.NoError(t, err)
	require.NoError(t, remote.Put(garbageRepo.Tag("1"), rawManifest(raw), ropts...))

	cfg := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPass))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+reg.host+`":{"auth":"`+auth+`"}}}`), 0o600))
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "DOCKER_CONFIG=" + cfg, "SSL_CERT_FILE=" + reg.caFile}
	cli := func(args ...string) result { return run(t, repo(t), env, 5*time.Minute, binary(t), args...) }
	db := []string{"--db", repo(t, "testdata", "osv"), "--db-max-age", "876000h"}
	work := t.TempDir()
	targets := []string{reg.host, reg.host + "/team-x/missing"}

	whole := filepath.Join(work, "whole")
	res := cli(append(append([]string{"registry", "scan"}, targets...), append(db, "--output-dir", whole, "--layer-cache", filepath.Join(work, "layers"))...)...)
	require.Equal(t, 3, res.code, "an image not scanned fails the run closed\n%s", res)
	sum := readSummary(t, whole)
	require.Len(t, sum.images, 28, "3 bases, 24 applications, the broken image")
	assert.Equal(t, "error", sum.images[reg.host+"/team-z/broken:1"].Status)
	assert.Equal(t, "fail", sum.images[reg.host+"/team-a/app0:v1.0"].Status, res.String())
	assert.Contains(t, sum.problems, reg.host+"/team-x/missing")
	assert.Contains(t, sum.problems, reg.host+"/team-z/garbage:1")
	assert.Equal(t, int64(27), sum.run.LayersRead, "each layer read once")
	assert.Equal(t, int64(24), sum.run.LayersCached, "the applications' base layers from the cache")
	assert.Contains(t, res.stdout, "FAIL (incomplete) 28 images")
	assert.Contains(t, res.stderr, "imagegate: ")

	var dirs []string
	for i := 1; i <= 3; i++ {
		d := filepath.Join(work, "shard", string(rune('0'+i)))
		res := cli(append(append([]string{"registry", "scan"}, targets...), append(db, "--output-dir", d, "--shard", string(rune('0'+i))+"/3", "--layer-cache", filepath.Join(work, "layers"))...)...)
		require.Contains(t, []int{1, 3}, res.code, res.String())
		dirs = append(dirs, d)
	}
	merged := filepath.Join(work, "merged")
	res = cli(append(append([]string{"registry", "merge"}, dirs...), "--output-dir", merged)...)
	require.Equal(t, 3, res.code, res.String())
	msum := readSummary(t, merged)
	require.Len(t, msum.images, len(sum.images))
	for n, im := range sum.images {
		assert.Equal(t, im.Status, msum.images[n].Status, n)
		assert.Equal(t, im.Digest, msum.images[n].Digest, n)
	}
	if keep := os.Getenv("IMAGEGATE_E2E_SARIF_DIR"); keep != "" {
		// .ci/run checks the merged SARIF with the multitool and GitHub's rules.
		parts, err := filepath.Glob(filepath.Join(merged, "sarif", "summary-*.sarif"))
		require.NoError(t, err)
		require.Len(t, parts, 2, "27 runs: 20 and 7")
		for _, p := range parts {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(keep, "registry-"+filepath.Base(p)), b, 0o644))
		}
	}
	res = cli(append([]string{"registry", "merge"}, dirs[:2]...)...)
	assert.Equal(t, 3, res.code)
	assert.Contains(t, res.stderr, "shards 3/3 are missing")

	// The SBOM beside the image (this registry has no referrers API: the tag schema), and
	// its rescans.
	app := reg.host + "/team-b/app1:v1.5"
	_, privKey, pubKey := imagetest.SigningKey(t)
	// An unsigned SBOM first (anyone who can push could attach it), then the signed one.
	res = cli("sbom", app, "--attach")
	require.Equal(t, 0, res.code, res.String())
	res = cli("sbom", app, "--attach", "--sign", "--key", privKey)
	require.Equal(t, 0, res.code, res.String())
	assert.Contains(t, res.stdout, reg.host+"/team-b/app1@sha256:")
	// The oracle: cosign accepts the attestation with the key, and refuses it with another.
	cosign := func(pub string) result {
		return run(t, repo(t), env, 5*time.Minute, cosignBinary(t), "verify-attestation",
			"--key", pub, "--type", "cyclonedx", "--insecure-ignore-tlog=true", app)
	}
	verified := cosign(pubKey)
	require.Equal(t, 0, verified.code, "cosign verify-attestation: %s", verified)
	assert.Contains(t, verified.stderr, "The signatures were verified against the specified public key")
	assert.Contains(t, verified.stdout, `"payloadType":"application/vnd.in-toto+json"`)
	_, _, otherPub := imagetest.SigningKey(t)
	refused := cosign(otherPub)
	assert.NotEqual(t, 0, refused.code, "another key: %s", refused)
	appDigest := sum.images[app].Digest
	appRef, err := name.ParseReference(app)
	require.NoError(t, err)
	tags, err := remote.List(appRef.Context(), ropts...)
	require.NoError(t, err)
	assert.Contains(t, tags, strings.Replace(appDigest, ":", "-", 1))

	state := filepath.Join(work, "state.json")
	rescan := func() (result, fleetSummary) {
		out := filepath.Join(work, "rescan")
		res := cli(append([]string{"rescan", reg.host + "/team-b/app1", "--tag", "v1.5", "--state", state, "--output-dir", out, "--verify-key", pubKey}, db...)...)
		return res, readSummary(t, out)
	}
	res = cli(append([]string{"rescan", reg.host + "/team-b/app1", "--tag", "v1.5", "--state", state, "--output-dir", filepath.Join(work, "unsigned")}, db...)...)
	assert.Equal(t, 2, res.code, "a registry's SBOMs are read only with a key or identity to verify them\n%s", res)
	res, first := rescan()
	assert.Equal(t, 1, res.code, "lodash 4.17.20's advisories are new at the first rescan\n%s", res)
	assert.Positive(t, first.images[app].New)
	res, second := rescan()
	assert.Equal(t, 0, res.code, "nothing new the second time\n%s", res)
	assert.Zero(t, second.images[app].New)

	// Keyless, as a release workflow signs: a certificate from Fulcio for the job's OIDC
	// identity, the signature logged in Rekor (local instances that speak their APIs; the
	// token reaches Fulcio only). rescan believes it for that identity under the trusted
	// root, and cosign does too; another workflow's identity is not trusted (exit 3).
	ss := imagetest.NewSigstore(t)
	const workflow, issuer = "https://github.com/team-b/app1/.github/workflows/release.yml@refs/heads/main", "https://token.actions.githubusercontent.com"
	signEnv := append(env[:len(env):len(env)], "SIGSTORE_ID_TOKEN="+ss.Token(workflow, issuer))
	res = run(t, repo(t), signEnv, 5*time.Minute, binary(t), "sbom", app, "--attach", "--sign", "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL)
	require.Equal(t, 0, res.code, res.String())
	res = cli("sbom", app, "--attach", "--sign", "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL)
	assert.Equal(t, 2, res.code, "keyless signing without an OIDC token\n%s", res)
	assert.Contains(t, res.stderr, "SIGSTORE_ID_TOKEN")
	keyless := func(identity string) (result, fleetSummary) {
		out := filepath.Join(work, "rescan-keyless")
		res := cli(append([]string{"rescan", reg.host + "/team-b/app1", "--tag", "v1.5", "--state", filepath.Join(work, "keyless-state.json"), "--output-dir", out,
			"--certificate-identity", identity, "--certificate-oidc-issuer", issuer, "--trusted-root", ss.TrustedRoot}, db...)...)
		return res, readSummary(t, out)
	}
	res, _ = keyless(strings.Replace(workflow, "team-b", "team-c", 1))
	assert.Equal(t, 3, res.code, "another workflow's identity\n%s", res)
	res, third := keyless(workflow)
	assert.Equal(t, 1, res.code, "the keyless SBOM verifies; its findings are new to this state\n%s", res)
	assert.Equal(t, first.images[app].New, third.images[app].New)
	// The same signer named in .imagegate.yaml (trust.sbom) instead of flags.
	project := filepath.Join(t.TempDir(), ".imagegate.yaml")
	require.NoError(t, os.WriteFile(project, []byte("trust:\n  sbom:\n    certificate-identity-regexp: 'https://github\\.com/team-b/app1/\\.github/workflows/release\\.yml@refs/heads/.*'\n    certificate-oidc-issuer: "+issuer+"\n    trusted-root: "+ss.TrustedRoot+"\n"), 0o644))
	res = cli(append([]string{"rescan", reg.host + "/team-b/app1", "--tag", "v1.5", "--state", filepath.Join(work, "keyless-state.json"), "--output-dir", filepath.Join(work, "rescan-config"), "--config", project}, db...)...)
	assert.Equal(t, 0, res.code, "verified as the config says; nothing new since the last rescan\n%s", res)
	verified = run(t, repo(t), env, 5*time.Minute, cosignBinary(t), "verify-attestation", "--type", "cyclonedx",
		"--certificate-identity", workflow, "--certificate-oidc-issuer", issuer, "--trusted-root", ss.TrustedRoot, "--insecure-ignore-sct", app)
	require.Equal(t, 0, verified.code, "cosign verify-attestation, keyless: %s", verified)
}

type fleetImage struct {
	Digest, Status string
	New            int
	Names          []string
}

type fleetSummary struct {
	run struct {
		LayersRead, LayersCached int64
	}
	images   map[string]fleetImage
	problems []string
}

// readSummary reads summary.jsonl as a client would: a JSON object per line.
func readSummary(t *testing.T, dir string) fleetSummary {
	f, err := os.Open(filepath.Join(dir, "summary.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	s := fleetSummary{images: map[string]fleetImage{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			Run *struct {
				LayersRead   int64 `json:"layersRead"`
				LayersCached int64 `json:"layersCached"`
			} `json:"run"`
			Image   *fleetImage `json:"image"`
			Problem *struct {
				Subject string `json:"subject"`
			} `json:"problem"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		switch {
		case l.Run != nil:
			s.run.LayersRead += l.Run.LayersRead
			s.run.LayersCached += l.Run.LayersCached
		case l.Image != nil:
			s.images[l.Image.Names[0]] = *l.Image
		case l.Problem != nil:
			s.problems = append(s.problems, l.Problem.Subject)
		}
	}
	return s
}
