// Package image resolves an image reference from anywhere a user keeps an image (a
// registry, a docker-archive, an OCI archive or layout, the Docker daemon), picks the
// platform, and walks its layers once into a file index.
package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// Transport names the kind of place an image was read from (report's list).
type Transport = report.Transport

// The transports an image source opens; the prefix of an image argument selects one.
const (
	Registry      = report.TransportRegistry
	DockerArchive = report.TransportDockerArchive
	OCIArchive    = report.TransportOCIArchive
	OCIDir        = report.TransportOCIDir
	DockerDaemon  = report.TransportDockerDaemon
)

// Capabilities are what a source can do without extra work. Sources set them; the walk
// reads them and never the transport.
type Capabilities struct {
	// StoredManifest: the manifest, and with it each blob's digest and size, is stored;
	// docker archives and the daemon have none, and computing one compresses every layer.
	StoredManifest bool
	// StoredCompressed: Compressed() returns each blob as pushed, at no extra cost.
	StoredCompressed bool
	// SharedBlobs: blob digests are a registry's, shared across the images that use the
	// layer, so what is learnt from a layer is worth keeping in the layer cache under them.
	SharedBlobs bool
	// VerifiedBlobs: the source checks each blob against its digest as it streams
	// (go-containerregistry's remote does); elsewhere the walk checks it.
	VerifiedBlobs bool
}

// capabilities are each transport's.
var capabilities = map[Transport]Capabilities{
	Registry:      {StoredManifest: true, StoredCompressed: true, SharedBlobs: true, VerifiedBlobs: true},
	OCIArchive:    {StoredManifest: true, StoredCompressed: true},
	OCIDir:        {StoredManifest: true, StoredCompressed: true},
	DockerArchive: {},
	DockerDaemon:  {},
}

// Where a bare image name (no transport prefix, not an existing path) is looked up.
const (
	SourceDaemon   = "daemon"
	SourceRegistry = "registry"
)

// AllSources lists the lookups a bare name can go through, and DefaultSources their
// default order: the local Docker daemon first, as Trivy and Snyk do, so that the image
// a 'docker build -t app:ci .' made a step earlier is the one scanned; then the registry.
var (
	AllSources     = []string{SourceDaemon, SourceRegistry}
	DefaultSources = []string{SourceDaemon, SourceRegistry}
)

// CheckSources refuses an unknown or empty source list.
func CheckSources(sources []string) error {
	if len(sources) == 0 {
		return failure.Inputf("image source: name at least one of %s", strings.Join(AllSources, ", "))
	}
	for _, s := range sources {
		if !slices.Contains(AllSources, s) {
			return failure.Inputf("image source %q: want one or more of %s", s, strings.Join(AllSources, ", "))
		}
	}
	return nil
}

// DefaultPlatform is picked from a multi-platform index when none is asked for.
const DefaultPlatform = "linux/amd64"

// Image is an opened image with what is known about where it came from.
type Image struct {
	v1.Image
	// Name is the reference or path as the user gave it, without the transport prefix.
	Name string
	// Transport is where the image was read from (for reports; the walk reads Can).
	Transport Transport
	// Can is what the source does cheaply.
	Can Capabilities
	// Digest is the manifest digest of the selected image. Empty for docker-archive and
	// docker-daemon images, which have no stored manifest (computing one would compress
	// every layer).
	Digest string
	// ID is the digest of the image config (what `docker images` calls the image ID).
	ID string
	// IndexDigest is the digest of the multi-platform index the image was picked from, if any.
	IndexDigest string
	// Platform is the platform of the selected image (from its config).
	Platform string
	// StoredSizes are the layers' sizes as stored, when the source knows them without
	// work (a docker-archive's tar headers): asking go-containerregistry for the size of
	// an uncompressed archive layer compresses the whole layer to find it.
	StoredSizes []int64
	// blobs open each layer's blob as stored, when the source can without going through
	// go-containerregistry (a docker-archive's tar members): the walk then decompresses
	// gzip and zstd layers with klauspost/compress, not the standard library.
	blobs []func() (io.ReadCloser, error)
}

type openOptions struct {
	platform string
	username string
	password string
	// named are the registries (host[:port]) the user named: username and password, and
	// plain HTTP with insecure, are for these only.
	named     []string
	keychain  authn.Keychain
	transport http.RoundTripper
	insecure  bool
	sources   []string
}

// Option configures Open.
type Option func(*openOptions)

// WithPlatform selects os/arch[/variant] from a multi-platform index. When it is set, a
// single-platform image of another platform is an error too.
func WithPlatform(p string) Option { return func(o *openOptions) { o.platform = p } }

// WithBasicAuth authenticates with a username and password (or token) to the registries
// the user named (WithRegistries); every other registry (a base image an annotation or a
// Dockerfile names, another repository's referrers) gets the keychain's own entry for
// it, or nothing: credentials never go where an image or a pull request points.
func WithBasicAuth(username, password string) Option {
	return func(o *openOptions) { o.username, o.password = username, password }
}

// WithRegistries names the registries the user gave (host[:port], as references spell
// them: index.docker.io for Docker Hub): the explicit credentials and plain HTTP
// (WithInsecure) are for these only.
func WithRegistries(named ...string) Option {
	return func(o *openOptions) { o.named = append(o.named, named...) }
}

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

// WithKeychain replaces the default keychain (docker config.json and credential helpers).
func WithKeychain(k authn.Keychain) Option { return func(o *openOptions) { o.keychain = k } }

// WithTransport sets the HTTP transport used for registries (tests, proxies).
func WithTransport(t http.RoundTripper) Option { return func(o *openOptions) { o.transport = t } }

// WithInsecure allows plain HTTP to the registries the user named (WithRegistries).
// Credentials never go over plain HTTP to another host but a loopback one.
func WithInsecure(b bool) Option { return func(o *openOptions) { o.insecure = b } }

// insecureFor says whether registry may be spoken to over plain HTTP.
func (o openOptions) insecureFor(registry string) bool {
	return o.insecure && slices.Contains(o.named, registry)
}

// WithSources sets where a bare image name is looked up, in order (default DefaultSources).
func WithSources(s []string) Option { return func(o *openOptions) { o.sources = s } }

// Open resolves ref into an image. The forms are: a registry reference, or one of
// docker-archive:PATH, oci-archive:PATH, oci-dir:PATH, docker-daemon:NAME, or a bare path
// whose kind is detected from its content.
func Open(ctx context.Context, ref string, opts ...Option) (*Image, error) {
	o := openOptions{keychain: authn.DefaultKeychain, sources: DefaultSources}
	for _, opt := range opts {
		opt(&o)
	}
	if err := CheckSources(o.sources); err != nil {
		return nil, err
	}
	if o.platform != "" {
		if _, err := parsePlatform(o.platform); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(ref) == "" {
		return nil, failure.Inputf("no image given")
	}
	tr, rest := splitTransport(ref)
	if tr == "" {
		detected, err := detect(rest)
		if err != nil {
			return nil, err
		}
		if detected != Registry {
			tr = detected // an existing path: read by its content
		}
	}
	var (
		img *Image
		err error
	)
	switch tr {
	case "":
		img, tr, err = openByName(ctx, rest, o)
	case Registry:
		img, err = openRemote(ctx, rest, o)
	case DockerArchive:
		img, err = openDockerArchive(rest, o)
	case OCIArchive:
		img, err = openOCIArchive(rest, o)
	case OCIDir:
		img, err = openOCIDir(rest, o)
	case DockerDaemon:
		img, err = openDaemon(ctx, rest, o)
	}
	if err != nil {
		return nil, err
	}
	img.Name, img.Transport, img.Can = displayName(rest, tr), tr, capabilities[tr]
	if img.Can.StoredManifest {
		d, err := img.Image.Digest()
		if err != nil {
			return nil, classifyReadError(fmt.Sprintf("image %q: cannot read the manifest", rest), err)
		}
		img.Digest = d.String()
	}
	return img, nil
}

// displayName is how reports and SBOMs name the image: a reference as given; an archive
// or layout by its path relative to the working folder, or by its file name when it lies
// elsewhere (a runner's temporary folder): never a host path.
func displayName(arg string, t Transport) string {
	if t != DockerArchive && t != OCIArchive && t != OCIDir {
		return arg
	}
	p, suffix := arg, ""
	if t == DockerArchive {
		if path, want := splitArchive(arg); want != "" {
			p, suffix = path, "@"+want
		}
	}
	if !filepath.IsAbs(p) && !strings.HasPrefix(filepath.Clean(p), "..") {
		return filepath.ToSlash(filepath.Clean(p)) + suffix
	}
	if wd, err := os.Getwd(); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
				return filepath.ToSlash(rel) + suffix
			}
		}
	}
	return filepath.Base(p) + suffix
}

// openByName looks a bare name up in the sources, in order: the daemon when one is
// reachable and has the image, else the registry. A daemon that is not there, or does not
// have the image, passes on to the next source; any other daemon failure is reported.
func openByName(ctx context.Context, ref string, o openOptions) (*Image, Transport, error) {
	var tried []string
	for _, src := range o.sources {
		switch src {
		case SourceDaemon:
			if !daemonConfigured() {
				tried = append(tried, "no Docker daemon")
				continue
			}
			img, err := openDaemon(ctx, ref, o)
			if err == nil {
				return img, DockerDaemon, nil
			}
			if !errors.Is(err, errDaemonMissing) {
				return nil, "", err
			}
			tried = append(tried, err.Error())
		case SourceRegistry:
			img, err := openRemote(ctx, ref, o)
			if err != nil && len(tried) > 0 {
				return nil, "", fmt.Errorf("%w (before that: %s)", err, strings.Join(tried, "; "))
			}
			return img, Registry, err
		}
	}
	return nil, "", failure.Inputf("image %q: not found (%s); image sources tried: %s", ref, strings.Join(tried, "; "), strings.Join(o.sources, ", "))
}

// daemonConfigured says whether a Docker daemon may be reachable: DOCKER_HOST names one,
// or the default socket exists.
func daemonConfigured() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	_, err := os.Stat("/var/run/docker.sock")
	return err == nil
}

func splitTransport(ref string) (Transport, string) {
	for _, t := range []Transport{DockerArchive, OCIArchive, OCIDir, DockerDaemon} {
		if p := string(t) + ":"; strings.HasPrefix(ref, p) {
			return t, strings.TrimPrefix(ref, p)
		}
	}
	if p := "registry:"; strings.HasPrefix(ref, p) {
		return Registry, strings.TrimPrefix(ref, p)
	}
	return "", ref
}

// detect decides what a bare argument is: an existing path is read by its content,
// anything else is a registry reference.
func detect(arg string) (Transport, error) {
	if path, want := splitArchive(arg); want != "" {
		arg = path
	}
	st, err := os.Stat(arg)
	if err != nil {
		if looksLikePath(arg) {
			return "", failure.Inputf("image %q: no such file or directory", arg)
		}
		return Registry, nil
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(arg, "oci-layout")); err == nil {
			return OCIDir, nil
		}
		return "", failure.Inputf("image %q: a directory, but not an OCI layout (no oci-layout file)", arg)
	}
	if err := userfile.Check(arg, "image"); err != nil {
		return "", err
	}
	members, err := indexTar(arg)
	if err != nil {
		return "", failure.Inputf("image %q: not an image archive: %w", arg, err)
	}
	_, hasManifest := members["manifest.json"]
	_, hasLayout := members["oci-layout"]
	_, hasIndex := members["index.json"]
	switch {
	case hasManifest:
		return DockerArchive, nil
	case hasLayout && hasIndex:
		return OCIArchive, nil
	}
	return "", failure.Inputf("image %q: a tar file, but neither a docker-archive (no manifest.json) nor an OCI archive (no oci-layout/index.json)", arg)
}

func looksLikePath(arg string) bool {
	return strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, "./") || strings.HasPrefix(arg, "../") ||
		strings.HasSuffix(arg, ".tar") || strings.HasSuffix(arg, ".tar.gz") || strings.HasSuffix(arg, ".tgz")
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

// MaxArchiveImages bounds the images one docker-archive may list.
const MaxArchiveImages = 1000

// splitArchive cuts docker-archive:PATH@REPO:TAG into the path and the image asked for;
// a path that exists as given (even with an @ in it) is the whole argument.
func splitArchive(arg string) (path, want string) {
	if _, err := os.Stat(arg); err == nil {
		return arg, ""
	}
	if i := strings.LastIndex(arg, "@"); i > 0 && !strings.HasPrefix(arg[i+1:], "sha256:") {
		if _, err := os.Stat(arg[:i]); err == nil {
			return arg[:i], arg[i+1:]
		}
	}
	return arg, ""
}

// openDockerArchive opens a 'docker save' tar. One that holds several images is read only
// for the image asked for (docker-archive:PATH@REPO:TAG): never the first one silently.
func openDockerArchive(arg string, o openOptions) (*Image, error) {
	path, want := splitArchive(arg)
	if err := userfile.Check(path, "docker-archive"); err != nil {
		return nil, err
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return nil, failure.Inputf("docker-archive %q: not a docker save archive: %w", path, err)
	}
	if len(m) == 0 {
		return nil, failure.Inputf("docker-archive %q: manifest.json lists no image", path)
	}
	if len(m) > MaxArchiveImages {
		return nil, failure.Inputf("docker-archive %q: lists %d images, over the limit of %d", path, len(m), MaxArchiveImages)
	}
	members, err := indexTar(path)
	if err != nil {
		return nil, failure.Inputf("docker-archive %q: %w", path, err)
	}
	for _, d := range m {
		if c, ok := members[strings.TrimPrefix(d.Config, "./")]; ok && c.size > MaxConfigSize {
			return nil, failure.Inputf("docker-archive %q: the image config %s is %d bytes, over the limit of %d", path, d.Config, c.size, MaxConfigSize)
		}
		if len(d.Layers) > MaxLayers {
			return nil, failure.Inputf("docker-archive %q: an image with %d layers, over the limit of %d (Docker builds at most 127)", path, len(d.Layers), MaxLayers)
		}
	}
	var tag *name.Tag
	switch {
	case want != "":
		t, err := name.NewTag(want)
		if err != nil {
			return nil, failure.Inputf("docker-archive %q: %q is not an image name: %w", path, want, err)
		}
		found := false
		for _, d := range m {
			for _, rt := range d.RepoTags {
				if have, err := name.NewTag(rt); err == nil && have.String() == t.String() {
					found = true
				}
			}
		}
		if !found {
			return nil, failure.Inputf("docker-archive %q holds no image %s; it holds %s", path, want, archiveImages(m))
		}
		tag = &t
	case len(m) > 1:
		return nil, failure.Inputf("docker-archive %q holds %d images (%s): name the one to scan, e.g. docker-archive:%s@%s", path, len(m), archiveImages(m), path, firstTag(m))
	}
	i, err := tarball.ImageFromPath(path, tag)
	if err != nil {
		return nil, failure.Inputf("docker-archive %q: %w", path, err)
	}
	img, err := finish(&Image{Image: i}, o.platform, path)
	if err != nil {
		return nil, err
	}
	img.StoredSizes, img.blobs = storedBlobs(path, m, tag, members)
	return img, nil
}

// storedBlobs are the tar sizes of the layers of the archive's image tag (the only image
// when tag is nil) and openers of their members as stored, or nil when one is missing.
func storedBlobs(archive string, m tarball.Manifest, tag *name.Tag, members map[string]section) ([]int64, []func() (io.ReadCloser, error)) {
	entry := m[0]
	if tag != nil {
		for _, d := range m {
			for _, rt := range d.RepoTags {
				if have, err := name.NewTag(rt); err == nil && have.String() == tag.String() {
					entry = d
				}
			}
		}
	}
	sizes := make([]int64, len(entry.Layers))
	blobs := make([]func() (io.ReadCloser, error), len(entry.Layers))
	for i, p := range entry.Layers {
		s, ok := members[path.Clean(strings.TrimPrefix(p, "./"))]
		if !ok {
			return nil, nil
		}
		sizes[i] = s.size
		blobs[i] = func() (io.ReadCloser, error) {
			f, err := os.Open(archive)
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.NewSectionReader(f, s.off, s.size), f}, nil
		}
	}
	return sizes, blobs
}

func archiveImages(m tarball.Manifest) string {
	var names []string
	for n, d := range m {
		if len(d.RepoTags) == 0 {
			names = append(names, fmt.Sprintf("untagged image #%d", n+1))
			continue
		}
		names = append(names, strings.Join(d.RepoTags, ", "))
	}
	return strings.Join(names, "; ")
}

func firstTag(m tarball.Manifest) string {
	for _, d := range m {
		if len(d.RepoTags) > 0 {
			return d.RepoTags[0]
		}
	}
	return "REPO:TAG (the untagged images cannot be chosen: save them with a tag)"
}

func openOCIDir(dir string, o openOptions) (*Image, error) {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return nil, failure.Inputf("oci-dir %q: not an OCI layout (no oci-layout file)", dir)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, failure.Inputf("oci-dir %q: %w", dir, err)
	}
	img, err := pickFromIndex(idx, o.platform, dir)
	if err != nil {
		return nil, err
	}
	if err := checkManifest(img, dir); err != nil {
		return nil, err
	}
	return finish(&Image{Image: img}, o.platform, dir)
}

func openDaemon(ctx context.Context, ref string, o openOptions) (*Image, error) {
	if _, err := name.ParseReference(ref); err != nil {
		return nil, failure.Inputf("docker-daemon %q: not a valid reference: %w", ref, err)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, &daemonError{kind: failure.Incompletef("docker-daemon %q: no Docker daemon is reachable (is DOCKER_HOST set and the daemon running?): %w", ref, err), missing: true}
	}
	defer cli.Close()
	_, _ = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	// Ask for the image first: a missing image or daemon is found here, before a save.
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		return nil, daemonFailure(ref, err)
	}
	// One 'docker save' into a temporary file (the run's temporary folder, removed at
	// exit), then read as any docker-archive: its layers straight from the tar, in
	// parallel, gzip and zstd with the fast decompressors.
	rc, err := cli.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, daemonFailure(ref, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "imagegate-docker-save-*.tar")
	if err != nil {
		return nil, failure.Incompletef("docker-daemon %q: a temporary file for the image: %w", ref, unwrapPathError(err))
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, failure.Incompletef("docker-daemon %q: docker save: %w", ref, err)
	}
	img, err := openDockerArchive(f.Name(), o)
	if err != nil {
		os.Remove(f.Name())
		return nil, failure.Incompletef("docker-daemon %q: the daemon's docker save: %w", ref, err)
	}
	return img, nil
}

// daemonFailure classifies a daemon error: no daemon there, or no such image, lets a name
// lookup go on to the next source.
func daemonFailure(ref string, err error) error {
	var dial *net.OpError
	switch {
	case client.IsErrConnectionFailed(err) || (errors.As(err, &dial) && dial.Op == "dial"):
		return &daemonError{kind: failure.Incompletef("docker-daemon %q: no Docker daemon is reachable (is DOCKER_HOST set and the daemon running?): %w", ref, err), missing: true}
	case cerrdefs.IsInvalidArgument(err):
		return failure.Inputf("docker-daemon %q: the daemon refuses the name: %s", ref, failure.OneLine(err.Error()))
	case cerrdefs.IsNotFound(err):
		return &daemonError{kind: failure.Inputf("docker-daemon %q: the daemon has no such image", ref), missing: true}
	}
	return failure.Incompletef("docker-daemon %q: %w", ref, err)
}

// errDaemonMissing matches a daemon error that lets a name lookup go on to the next
// source: no daemon there, or no such image in it.
var errDaemonMissing = errors.New("not in the daemon")

type daemonError struct {
	kind    error
	missing bool
}

func (e *daemonError) Error() string { return e.kind.Error() }
func (e *daemonError) Unwrap() []error {
	if e.missing {
		return []error{e.kind, errDaemonMissing}
	}
	return []error{e.kind}
}

// pickFromIndex selects the image for the platform from an index (nested indexes too, as
// in an OCI layout whose index.json points at a multi-platform index).
func pickFromIndex(idx v1.ImageIndex, platform, what string) (v1.Image, error) {
	want := platform
	if want == "" {
		want = DefaultPlatform
	}
	spec, err := parsePlatform(want)
	if err != nil {
		return nil, err
	}
	var cands []candidate
	if err := flattenIndex(idx, 0, &cands); err != nil {
		return nil, failure.Inputf("image %q: unreadable index: %w", what, err)
	}
	// An OCI layout written by a tool often holds one image without a platform: take it.
	if len(cands) == 1 && cands[0].desc.Platform == nil {
		return cands[0].idx.Image(cands[0].desc.Digest)
	}
	var available []string
	for _, c := range cands {
		p := c.desc.Platform
		if p == nil || p.OS == "unknown" { // attestation manifests
			continue
		}
		available = append(available, p.String())
		if p.Satisfies(*spec) {
			img, err := c.idx.Image(c.desc.Digest)
			if err != nil {
				return nil, failure.Inputf("image %q: cannot read the %s image: %w", what, p, err)
			}
			return img, nil
		}
	}
	sort.Strings(available)
	if len(available) == 0 {
		return nil, failure.Inputf("image %q: the index holds no image", what)
	}
	return nil, failure.WithSetting(failure.Inputf("image %q: no image for platform %s; available: %s", what, want, strings.Join(available, ", ")), "platform")
}

type candidate struct {
	idx  v1.ImageIndex
	desc v1.Descriptor
}

// maxIndexDepth bounds nested indexes, and MaxIndexEntries the manifests an index (with
// its nested indexes) may list: an index that fans out 3,000 x 3,000 is refused, not read.
const (
	maxIndexDepth   = 4
	MaxIndexEntries = 10_000
)

func flattenIndex(idx v1.ImageIndex, depth int, out *[]candidate) error {
	seen := 0
	return flattenIndexCounted(idx, depth, out, &seen)
}

func flattenIndexCounted(idx v1.ImageIndex, depth int, out *[]candidate, seen *int) error {
	if depth > maxIndexDepth {
		return fmt.Errorf("indexes nested more than %d deep", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	if *seen += len(im.Manifests); *seen > MaxIndexEntries {
		return fmt.Errorf("the index lists more than %d manifests", MaxIndexEntries)
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsImage():
			*out = append(*out, candidate{idx: idx, desc: d})
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return fmt.Errorf("nested index %s: %w", d.Digest, err)
			}
			if err := flattenIndexCounted(child, depth+1, out, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// MaxConfigSize bounds an image config (real ones are kilobytes; one that says it is
// gigabytes is not read).
const MaxConfigSize = 8 << 20

// checkManifest refuses an image whose stored manifest says its config is too large to
// read. (Only for transports that store a manifest: asking a docker-archive for one makes
// go-containerregistry compress every layer.)
func checkManifest(img v1.Image, what string) error {
	m, err := img.Manifest()
	if err != nil {
		return classifyReadError(fmt.Sprintf("image %q: cannot read the manifest", what), err)
	}
	if m.Config.Size > MaxConfigSize {
		return failure.Inputf("image %q: the manifest says its config is %d bytes, over the limit of %d", what, m.Config.Size, MaxConfigSize)
	}
	return nil
}

// finish reads the config to fill the digest and platform, and checks an asked-for platform.
func finish(img *Image, platform, what string) (*Image, error) {
	id, err := img.Image.ConfigName()
	if err != nil {
		return nil, classifyReadError(fmt.Sprintf("image %q: cannot read the image config", what), err)
	}
	img.ID = id.String()
	cf, err := img.Image.ConfigFile()
	if err != nil {
		return nil, classifyReadError(fmt.Sprintf("image %q: cannot read the image config", what), err)
	}
	p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	img.Platform = p.String()
	if platform != "" && cf.OS != "" {
		spec, _ := parsePlatform(platform)
		if !p.Satisfies(*spec) {
			return nil, failure.Inputf("image %q: is %s, not the asked platform %s", what, p.String(), platform)
		}
	}
	return img, nil
}

// classifyReadError keeps registry failures' classification and calls the rest input errors
// (the image itself is malformed).
func classifyReadError(prefix string, err error) error {
	var terr *transport.Error
	var ferr *failure.Error
	switch {
	case errors.As(err, &ferr):
		return err
	case errors.As(err, &terr):
		return registryError(prefix, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return failure.Incompletef("%s: %w", prefix, err)
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return failure.Incompletef("%s: %w", prefix, err)
	}
	return failure.Inputf("%s: %w", prefix, err)
}

func parsePlatform(s string) (*v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, failure.Inputf("platform %q: want os/arch[/variant], e.g. linux/arm64", s)
	}
	return p, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
