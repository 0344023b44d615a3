package e2e

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
)

// --platform all through Debian's docker-registry (TLS, htpasswd): an index of the demo
// image for linux/amd64 and linux/arm64 (the same layers, as platforms share their
// non-binary layers) and an attestation manifest is one run, a JSON document per
// platform, the attestation left out.
func TestEveryPlatformThroughTheRegistry(t *testing.T) {
	reg := startRegistry(t)
	demo, err := tarball.ImageFromPath(repo(t, "testdata", "demo", "demo-image.tar"), nil)
	require.NoError(t, err)
	platform := func(img v1.Image, arch string) v1.Image {
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		cf = cf.DeepCopy()
		cf.Architecture = arch
		out, err := mutate.ConfigFile(img, cf)
		require.NoError(t, err)
		return out
	}
	att := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("sbom.json", []byte("{}")))})
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: platform(demo, "amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: platform(demo, "arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		}},
	)
	ref, err := name.ParseReference(reg.host + "/team/multi:1")
	require.NoError(t, err)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: reg.pool}
	require.NoError(t, remote.WriteIndex(ref, idx, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass}), remote.WithTransport(tr)))

	res := reg.scan(t, nil, "--username", regUser, "--password", regPass, "--platform", "all", ref.String())
	require.Equal(t, 0, res.code, res.String())
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	var platforms []string
	for {
		var doc struct {
			Image struct {
				Platform    string `json:"platform"`
				IndexDigest string `json:"indexDigest"`
			} `json:"image"`
			Findings []json.RawMessage `json:"findings"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, res.String())
		assert.NotEmpty(t, doc.Findings)
		assert.NotEmpty(t, doc.Image.IndexDigest)
		platforms = append(platforms, doc.Image.Platform)
	}
	assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, platforms, "a document per platform, the attestation left out")
}
