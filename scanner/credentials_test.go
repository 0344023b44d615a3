package scanner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	gcrname "github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner"
)

// Explicit credentials go to the registries named (the front ends name the image's), never
// to a registry the image's base annotation or the Dockerfile's FROM points at; naming
// that registry with CredentialsFor is what sends them there.
func TestCredentialsStayWithTheirRegistry(t *testing.T) {
	ctx := context.Background()
	private := imagetest.NewRegistry(t, "ci-reader", "s3cret")
	evil := imagetest.NewRecorder(t)
	base := imagetest.Image(t, "linux/amd64", imagetest.Step{CreatedBy: "ADD base /", Layer: imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\n")))})
	baseRef, err := gcrname.ParseReference(evil.Host + "/evil/base:1")
	require.NoError(t, err)
	require.NoError(t, remote.Write(baseRef, base))
	app, err := mutate.AppendLayers(base, imagetest.Layer(t, imagetest.File("app/a", []byte("a"))))
	require.NoError(t, err)
	annotated := mutate.Annotations(app, map[string]string{"org.opencontainers.image.base.name": evil.Host + "/evil/base:1"}).(v1.Image)
	ref := private.Push(t, "team/app:1", annotated, nil, remote.WithAuth(&authn.Basic{Username: "ci-reader", Password: "s3cret"}))

	df := filepath.Join(t.TempDir(), "Dockerfile")
	require.NoError(t, os.WriteFile(df, []byte("FROM "+evil.Host+"/evil/base:1\nCOPY a /app/a\n"), 0o644))
	for _, c := range []struct {
		name       string
		dockerfile string
		also       []string
		leaks      bool
	}{
		{"base annotation", "", nil, false},
		{"Dockerfile FROM", df, nil, false},
		{"named with CredentialsFor", "", []string{evil.Host}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			evil.Basic() // forget what came before
			res, err := scanner.New(scanner.WithKeychain(authn.NewMultiKeychain())).Scan(ctx, scanner.Request{
				Image: ref, Dockerfile: scanner.Dockerfile{Path: c.dockerfile},
				Registry: scanner.Registry{Username: "ci-reader", Password: "s3cret", CredentialsFor: append([]string{private.Host}, c.also...)},
				Base:     scanner.Base{Resolve: true}, Checks: []string{scanner.ScannerConfig},
			})
			require.NoError(t, err)
			require.NotNil(t, res.Base, "the base was resolved in the other registry")
			assert.Equal(t, "base-image", res.Base.Method)
			if c.leaks {
				assert.NotEmpty(t, evil.Basic(), "named: the credentials are for it")
			} else {
				assert.Empty(t, evil.Basic(), "credentials sent to a registry the image points at")
			}
		})
	}
}
