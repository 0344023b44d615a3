package image_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegate/imagegate/failure"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/image"
)

// recorder is a server on another host that notes the Authorization headers it is sent.
type recorder struct {
	mu    sync.Mutex
	auths []string
}

func (r *recorder) note(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auths = append(r.auths, req.Header.Get("Authorization"))
}

func (r *recorder) sawCredentials() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.auths {
		if a != "" {
			return true
		}
	}
	return false
}

// Registry credentials go to the registry only: not to a token realm on another host, and
// not along a redirect to another host. A realm on the registry's own host gets them.
func TestCredentialsStayWithTheRegistry(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	store := registry.New()
	push := httptest.NewServer(store)
	defer push.Close()
	pu, _ := url.Parse(push.URL)
	require.NoError(t, remote.Write(mustRef(t, pu.Host+"/app:1"), img))

	// The other host: "localhost" while the registry is reached as 127.0.0.1.
	other := &recorder{}
	otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		other.note(req)
		if strings.HasSuffix(req.URL.Path, "/token") {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"token":"granted"}`))
			return
		}
		// Redirected blobs are served from the store.
		req.URL.Path = strings.TrimPrefix(req.URL.Path, "/cdn")
		store.ServeHTTP(w, req)
	}))
	defer otherSrv.Close()
	ou, _ := url.Parse(otherSrv.URL)
	otherHost := "localhost:" + ou.Port()

	for _, tc := range []struct {
		name  string
		realm func(self string) string
		leak  bool // whether the realm is the registry's own (credentials expected there)
	}{
		{"realm on another host", func(string) string { return "http://" + otherHost + "/token" }, false},
		{"realm on the registry", func(self string) string { return "http://" + self + "/token" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			own := &recorder{}
			var self string
			reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path == "/token" {
					own.note(req)
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(`{"token":"granted"}`))
					return
				}
				if req.Header.Get("Authorization") != "Bearer granted" {
					w.Header().Set("WWW-Authenticate", `Bearer realm="`+tc.realm(self)+`",service="test"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				if strings.Contains(req.URL.Path, "/blobs/") {
					http.Redirect(w, req, "http://"+otherHost+"/cdn"+req.URL.Path, http.StatusTemporaryRedirect)
					return
				}
				store.ServeHTTP(w, req)
			}))
			defer reg.Close()
			ru, _ := url.Parse(reg.URL)
			self = ru.Host
			before := len(other.auths)
			_, idx := openAndWalk(t, self+"/app:1", image.WithBasicAuth("ci-bot", "s3cret"), image.WithRegistries(self))
			assert.Equal(t, []string{"app/bin", "etc/os-release"}, finalPaths(idx))
			other.mu.Lock()
			seen := other.auths[before:]
			other.mu.Unlock()
			assert.NotEmpty(t, seen, "the other host was asked (token or blobs)")
			for _, a := range seen {
				assert.Empty(t, a, "no credentials to another host")
			}
			assert.Equal(t, tc.leak, own.sawCredentials(), "the registry's own realm gets the credentials")
		})
	}
}

// A bare name goes to the registry when no daemon is there, and to the daemon first when
// one is configured; an unreachable daemon passes the lookup on.
func TestImageSources(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", buildImage(t, "linux/amd64")...)
	reg := imagetest.NewRegistry(t, "", "")
	ref := reg.Push(t, "app:1", img, nil)

	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	got, _ := openAndWalk(t, ref)
	assert.Equal(t, image.Registry, got.Transport)

	_, err := image.Open(context.Background(), ref, image.WithSources([]string{image.SourceDaemon}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "image sources tried: daemon")

	_, err = image.Open(context.Background(), ref, image.WithSources([]string{"tape"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `image source "tape"`)
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	require.NoError(t, err)
	return r
}

// A registry that redirects to itself ends at once with exit 3 naming it, not after
// hundreds of thousands of retries at the deadline.
func TestRedirectLoop(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	start := time.Now()
	_, err := image.Open(context.Background(), host+"/app:1", image.WithSources([]string{image.SourceRegistry}))
	require.Error(t, err)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "redirect")
	assert.Contains(t, err.Error(), host)
}
