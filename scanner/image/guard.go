package image

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"golang.org/x/net/publicsuffix"

	"github.com/imagegate/imagegate/failure"
)

// credentialGuard keeps registry credentials on the registry's own site. A registry can
// redirect a blob, or name a token server (the auth realm) anywhere; go-containerregistry
// sends the basic credentials to that realm to get a token. The guard removes the
// Authorization header from every request to a host that is not the registry's and does
// not share its registrable domain (auth.docker.io serves registry-1.docker.io; a realm on
// another site gets no credentials, so it can get none out of us). IP addresses and
// single-label hosts (localhost) must match exactly, port included.
//
// Credentials never go over plain HTTP but to a loopback host or a registry the user
// allowed it for (plainHTTP): a registry on a private address is spoken to over HTTP by
// go-containerregistry unasked.
//
// It also ends a registry conversation that cannot end: a redirect to the same URL, or
// more than MaxRegistryRequests requests for one image (a registry that redirects in a
// circle is otherwise retried until the deadline).
type credentialGuard struct {
	registry  string // host[:port] as in the reference (index.docker.io for Docker Hub)
	inner     http.RoundTripper
	requests  atomic.Int64
	plainHTTP bool // credentials may go over plain HTTP to this registry
}

// MaxRegistryRequests bounds the HTTP requests made to read one image.
const MaxRegistryRequests = 20_000

func (g *credentialGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if n := g.requests.Add(1); n > MaxRegistryRequests {
		return nil, failure.Incompletef("registry %s: more than %d requests for one image (a redirect loop?)", g.registry, MaxRegistryRequests)
	}
	if req.Header.Get("Authorization") != "" && !sameSite(g.registry, req.URL.Host) {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	if req.Header.Get("Authorization") != "" && req.URL.Scheme == "http" && !g.plainHTTP {
		return nil, failure.WithSetting(failure.Inputf("registry %s: credentials would go over plain HTTP: refused (name it with --insecure-registry to allow it)", g.registry), "insecure-registry")
	}
	resp, err := g.inner.RoundTrip(req)
	if err == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, lerr := resp.Location(); lerr == nil && loc.String() == req.URL.String() {
			resp.Body.Close()
			return nil, failure.Incompletef("registry %s redirects %s to itself: a redirect loop", g.registry, req.URL.Path)
		}
	}
	return resp, err
}

// loopback says whether a registry is on this machine: plain HTTP to it never crosses a
// network.
func loopback(registry string) bool {
	h, _ := splitHostPort(registry)
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// sameSite says whether credentials for registry may go to host.
func sameSite(registry, host string) bool {
	if registry == host {
		return true
	}
	if registry == "index.docker.io" && host == "registry-1.docker.io" {
		return true // go-containerregistry's name for Docker Hub vs the host it talks to
	}
	rh, rp := splitHostPort(registry)
	hh, hp := splitHostPort(host)
	if net.ParseIP(rh) != nil || net.ParseIP(hh) != nil || !hasDot(rh) || !hasDot(hh) {
		return rh == hh && rp == hp
	}
	rd, err1 := publicsuffix.EffectiveTLDPlusOne(rh)
	hd, err2 := publicsuffix.EffectiveTLDPlusOne(hh)
	return err1 == nil && err2 == nil && rd == hd
}

func splitHostPort(s string) (string, string) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h, p
	}
	return s, ""
}

func hasDot(h string) bool {
	for i := 0; i < len(h); i++ {
		if h[i] == '.' {
			return true
		}
	}
	return false
}
