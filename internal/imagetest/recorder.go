package imagetest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Recorder is an in-process registry over plain HTTP on loopback that records every
// Authorization header it is sent: the registry an attacker names, in credential tests.
type Recorder struct {
	Host string // host:port
	mu   sync.Mutex
	auth []string
}

// NewRecorder starts a recording registry.
func NewRecorder(t testing.TB) *Recorder {
	t.Helper()
	r := &Recorder{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if a := req.Header.Get("Authorization"); a != "" {
			r.mu.Lock()
			r.auth = append(r.auth, a)
			r.mu.Unlock()
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(s.Close)
	r.Host = strings.TrimPrefix(s.URL, "http://")
	return r
}

// Basic counts the Basic credentials received since the last call, and forgets them.
func (r *Recorder) Basic() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.auth {
		if strings.HasPrefix(a, "Basic ") {
			n++
		}
	}
	r.auth = nil
	return n
}
