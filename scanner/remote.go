package scanner

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/scanner/image"
)

// Remote is a request's way to registries, for what a registry scan does besides
// scanning (listing catalogs and tags, resolving tags and bases, finding attached SBOMs):
// names parsed, and requests made, with the request's settings (credentials only for the
// registries the user named, plain HTTP only to those) and the scanner's keychain and
// transport.
type Remote struct{ opts []image.Option }

// Remote is the request's way to registries.
func (s *Scanner) Remote(r Request) Remote { return Remote{opts: s.ImageOptions(r)} }

// Open resolves ref in its registry (never the daemon) to the image for the request's
// platform.
func (m Remote) Open(ctx context.Context, ref string) (*image.Image, error) {
	return image.Open(ctx, ref, append(m.ImageOptions(), image.WithSources([]string{image.SourceRegistry}))...)
}

// ImageOptions are the options to hand to what takes them (attached SBOMs).
func (m Remote) ImageOptions() []image.Option { return m.opts[:len(m.opts):len(m.opts)] }

// NameOptions parse ref (a reference, a repository or a registry): plain HTTP where the
// request allows it for ref's registry.
func (m Remote) NameOptions(ref string) []name.Option { return image.NameOptions(ref, m.opts...) }

// Options are go-containerregistry's options for registry (host[:port]).
func (m Remote) Options(ctx context.Context, registry string) []remote.Option {
	return image.RemoteOptions(ctx, registry, m.opts...)
}

// FromRegistry is the request with images looked up in their registry only (never the
// daemon): what a registry scan reads.
func (r Request) FromRegistry() Request {
	r.Registry.Sources = []string{image.SourceRegistry}
	return r
}
