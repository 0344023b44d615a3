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
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

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

// A kind of image source: the transport (its prefix, TRANSPORT:ARG, selects it), what it
// can do, whether its argument is a local path, and how it opens an image. Each opener
// lives in the source's own file (registry.go, dockerarchive.go, ociarchive.go,
// ocidir.go, daemon.go).
type kind struct {
	transport Transport
	can       Capabilities
	path      bool
	open      func(ctx context.Context, arg string, o openOptions) (*Image, error)
}

// kinds is the one list of image sources.
var kinds = []kind{
	{Registry, Capabilities{StoredManifest: true, StoredCompressed: true, SharedBlobs: true, VerifiedBlobs: true}, false, openRemote},
	{DockerArchive, Capabilities{}, true, local(openDockerArchive)},
	{OCIArchive, Capabilities{StoredManifest: true, StoredCompressed: true}, true, local(openOCIArchive)},
	{OCIDir, Capabilities{StoredManifest: true, StoredCompressed: true}, true, local(openOCIDir)},
	{DockerDaemon, Capabilities{}, false, openDaemon},
}

func local(open func(string, openOptions) (*Image, error)) func(context.Context, string, openOptions) (*Image, error) {
	return func(_ context.Context, arg string, o openOptions) (*Image, error) { return open(arg, o) }
}

func kindOf(t Transport) kind {
	for _, k := range kinds {
		if k.transport == t {
			return k
		}
	}
	panic("image: no source for transport " + string(t)) // only transports from kinds reach here
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

// AllPlatforms is the platform setting that scans every platform of an index.
const AllPlatforms = "all"

// PlatformsError is what Open answers for AllPlatforms on a multi-platform index: its
// platforms (attestation manifests left out), each to be opened by itself. A
// single-platform image opens as it is.
type PlatformsError struct{ Platforms []string }

// ErrSinglePlatform is what Open answers for AllPlatforms on a daemon's image, which is
// of one platform, without reading it (the scan then reads it once).
var ErrSinglePlatform = errors.New("an image of one platform")

func (e *PlatformsError) Error() string {
	return "a multi-platform index of " + strings.Join(e.Platforms, ", ")
}

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
	// gzip layers with scanner/gunzip and zstd with klauspost/compress, not the standard
	// library.
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
// single-platform image of another platform is an error too. AllPlatforms asks for the
// index's platforms instead (a *PlatformsError).
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
	if o.platform != "" && o.platform != AllPlatforms {
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
	if tr == "" {
		img, tr, err = openByName(ctx, rest, o)
	} else {
		img, err = kindOf(tr).open(ctx, rest, o)
	}
	if err != nil {
		return nil, err
	}
	img.Name, img.Transport, img.Can = displayName(rest, tr), tr, kindOf(tr).can
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
	if !kindOf(t).path {
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

// splitTransport cuts a TRANSPORT: prefix off an image argument ("" when it has none).
// registry:5000/app is a registry host named "registry" and its port, not a transport.
func splitTransport(ref string) (Transport, string) {
	for _, k := range kinds {
		rest, ok := strings.CutPrefix(ref, string(k.transport)+":")
		if ok && !(k.transport == Registry && portThenPath.MatchString(rest)) {
			return k.transport, rest
		}
	}
	return "", ref
}

// portThenPath is what follows "registry:" in a reference to a host named registry.
var portThenPath = regexp.MustCompile(`^[0-9]+(/|$)`)

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

// pickFromIndex selects the image for the platform from an index (nested indexes too, as
// in an OCI layout whose index.json points at a multi-platform index).
func pickFromIndex(idx v1.ImageIndex, platform, what string) (v1.Image, error) {
	var cands []candidate
	if err := flattenIndex(idx, 0, &cands); err != nil {
		return nil, failure.Inputf("image %q: unreadable index: %w", what, err)
	}
	// An OCI layout written by a tool often holds one image without a platform: take it.
	if len(cands) == 1 && cands[0].desc.Platform == nil {
		return cands[0].idx.Image(cands[0].desc.Digest)
	}
	if platform == AllPlatforms {
		pe := &PlatformsError{}
		for _, c := range cands {
			if p := c.desc.Platform; p != nil && p.OS != "unknown" && !slices.Contains(pe.Platforms, p.String()) {
				pe.Platforms = append(pe.Platforms, p.String())
			}
		}
		if len(pe.Platforms) == 0 {
			return nil, failure.Inputf("image %q: the index holds no image", what)
		}
		sort.Strings(pe.Platforms)
		return nil, pe
	}
	want := platform
	if want == "" {
		want = DefaultPlatform
	}
	spec, err := parsePlatform(want)
	if err != nil {
		return nil, err
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
	if platform != "" && platform != AllPlatforms && cf.OS != "" {
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

// Transports lists the image sources' transports, in the order of their list.
func Transports() []Transport {
	out := make([]Transport, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.transport)
	}
	return out
}
