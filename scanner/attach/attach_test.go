package attach_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/attach"
)

// An SBOM attached to an image is found again, the newest first, on a registry with the
// referrers API and on one without it (the referrers tag schema).
func TestPushAndFind(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "tag schema"}[referrers], func(t *testing.T) {
			srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(referrers)))
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")
			img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("etc/hostname", []byte("x\n")))})
			other := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("etc/hostname", []byte("y\n")))})
			d, err := img.Digest()
			require.NoError(t, err)
			od, err := other.Digest()
			require.NoError(t, err)
			for tag, im := range map[string]v1.Image{"1": img, "2": other} {
				ref, err := name.ParseReference(host + "/app:" + tag)
				require.NoError(t, err)
				require.NoError(t, remote.Write(ref, im))
			}
			ctx := context.Background()
			subject := host + "/app@" + d.String()

			_, err = attach.Find(ctx, subject)
			assert.ErrorIs(t, err, attach.ErrNone)

			old := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}`)
			newer := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":2}`)
			_, err = attach.Push(ctx, subject, old, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "test")
			require.NoError(t, err)
			art, err := attach.Push(ctx, subject, newer, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), "test")
			require.NoError(t, err)

			got, err := attach.Find(ctx, subject)
			require.NoError(t, err)
			assert.Equal(t, newer, got.SBOM)
			assert.Equal(t, art, got.Artifact)
			assert.Equal(t, 2, got.Created.Day())

			// Another image of the repository has none.
			_, err = attach.Find(ctx, host+"/app@"+od.String())
			assert.ErrorIs(t, err, attach.ErrNone)

			repo, err := name.NewRepository(host + "/app")
			require.NoError(t, err)
			tags, err := remote.List(repo)
			require.NoError(t, err)
			if referrers {
				assert.NotContains(t, tags, "sha256-"+d.Hex)
			} else {
				assert.Contains(t, tags, "sha256-"+d.Hex, "the referrers tag schema's index")
			}
		})
	}
}
