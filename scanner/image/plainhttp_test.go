package image_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/image"
)

// A registry on a private address is spoken to over plain HTTP by go-containerregistry
// unasked: credentials (here the keychain's) never go there that way unless the user
// named the registry with --insecure-registry.
func TestNoCredentialsOverPlainHTTP(t *testing.T) {
	reg := imagetest.NewRegistry(t, "ci-bot", "s3cret")
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("a", []byte("a")))})
	reg.Push(t, "app:1", img, nil, remote.WithAuth(&authn.Basic{Username: "ci-bot", Password: "s3cret"}))
	// 10.1.2.3:5000 is served by the test registry: every connection goes to it.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, reg.Host)
	}
	const private = "10.1.2.3:5000"
	kc := staticKeychain{authn.Basic{Username: "ci-bot", Password: "s3cret"}}
	_, err := image.Open(context.Background(), private+"/app:1", image.WithKeychain(kc), image.WithTransport(tr))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "credentials would go over plain HTTP", err.Error())
	assert.Equal(t, failure.ExitInput, failure.Code(err))

	// Named, with --insecure-registry: allowed.
	got, err := image.Open(context.Background(), private+"/app:1", image.WithKeychain(kc), image.WithTransport(tr),
		image.WithInsecure(true), image.WithRegistries(private))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(got.Digest, "sha256:"))

	// --insecure-registry for another registry does not extend to this one.
	_, err = image.Open(context.Background(), private+"/app:1", image.WithKeychain(kc), image.WithTransport(tr),
		image.WithInsecure(true), image.WithRegistries("registry.example.com"))
	require.Error(t, err)
}
