package image

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imagegate/imagegate/failure"
)

// RegistryOf is the registry (host[:port]) of an image argument that names one: a
// registry reference, bare or with the registry:// transport; "" for archives, layouts
// and daemon images.
func RegistryOf(arg string) string {
	tr, rest := splitTransport(arg)
	if tr != "" && tr != Registry {
		return ""
	}
	if tr == "" && looksLikePath(rest) {
		return ""
	}
	r, err := name.ParseReference(rest, name.Insecure)
	if err != nil {
		return ""
	}
	return r.Context().RegistryStr()
}

// RemoteOptions are the go-containerregistry options for talking to registry (host[:port])
// the way Open does: the credentials or keychain, the transport, and the guard that keeps
// them from being sent to another site.
func RemoteOptions(ctx context.Context, registry string, opts ...Option) []remote.Option {
	o := openOptions{keychain: authn.DefaultKeychain}
	for _, opt := range opts {
		opt(&o)
	}
	return o.remote(ctx, registry)
}

// NameOptions are the options to parse ref (a reference, a repository or a registry)
// with: plain HTTP when opts allow it for ref's registry (insecure, and the user named it).
func NameOptions(ref string, opts ...Option) []name.Option {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	registry := ""
	if !strings.Contains(ref, "/") {
		if r, err := name.NewRegistry(ref); err == nil {
			registry = r.RegistryStr() // a registry alone: host[:port]
		}
	} else if r, err := name.ParseReference(ref); err == nil {
		registry = r.Context().RegistryStr()
	} else if r, err := name.NewRepository(ref); err == nil {
		registry = r.RegistryStr()
	}
	if o.insecureFor(registry) {
		return []name.Option{name.Insecure}
	}
	return nil
}

func (o openOptions) remote(ctx context.Context, registry string) []remote.Option {
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithUserAgent("imagegate")}
	if (o.username != "" || o.password != "") && slices.Contains(o.named, registry) {
		ropts = append(ropts, remote.WithAuth(&authn.Basic{Username: o.username, Password: o.password}))
	} else {
		ropts = append(ropts, remote.WithAuthFromKeychain(o.keychain))
	}
	inner := o.transport
	if inner == nil {
		inner = remote.DefaultTransport
	}
	return append(ropts, remote.WithTransport(&credentialGuard{registry: registry, inner: inner, plainHTTP: o.insecureFor(registry) || loopback(registry)}))
}

func openRemote(ctx context.Context, ref string, o openOptions) (*Image, error) {
	r, err := name.ParseReference(ref)
	if err == nil && o.insecureFor(r.Context().RegistryStr()) {
		r, err = name.ParseReference(ref, name.Insecure)
	}
	if err != nil {
		return nil, failure.Inputf("image %q: not a valid reference: %w", ref, err)
	}
	ropts := o.remote(ctx, r.Context().RegistryStr())
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, registryError(ref, err)
	}
	img := &Image{}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, registryError(ref, err)
		}
		img.IndexDigest = desc.Digest.String()
		picked, err := pickFromIndex(idx, o.platform, ref)
		if err != nil {
			return nil, err
		}
		img.Image = picked
	} else {
		i, err := desc.Image()
		if err != nil {
			return nil, registryError(ref, err)
		}
		img.Image = i
	}
	if err := checkManifest(img.Image, ref); err != nil {
		return nil, err
	}
	return finish(img, o.platform, ref)
}

// registryError turns a registry failure into a message the user can act on.
func registryError(ref string, err error) error {
	var own *failure.Error
	if errors.As(err, &own) && own.Kind == failure.KindInput {
		return failure.WithSetting(failure.Inputf("image %q: %w", ref, err), failure.SettingOf(err)) // the guard's refusal
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return failure.WithSetting(failure.Inputf("image %q: the registry refused the credentials (%d): check them or your docker login", ref, terr.StatusCode), "username")
		case http.StatusNotFound:
			return failure.Inputf("image %q: not found in the registry (no such repository, tag or digest)", ref)
		}
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return failure.Inputf("image %q: not found in the registry (%s)", ref, d.Code)
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return failure.WithSetting(failure.Inputf("image %q: access denied by the registry: check the credentials or your docker login", ref), "username")
			}
		}
		return failure.Incompletef("image %q: registry error: %w", ref, err)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return failure.Inputf("image %q: unknown registry host %q", ref, dnsErr.Name)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return failure.Incompletef("image %q: %w", ref, err)
	}
	return failure.Incompletef("image %q: cannot reach the registry: %w", ref, err)
}
