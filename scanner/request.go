package scanner

import (
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/policy"
	"github.com/imagegate/imagegate/scanner/vulndb"
	"github.com/imagegate/imagegate/trust"
)

// Request is what the user asked: what to scan, with which checks, how to read it, and
// how to decide on what is found. Every front end builds one.
type Request struct {
	// Image is the image argument: a registry reference, docker-archive:PATH,
	// oci-archive:PATH, oci-dir:PATH, docker-daemon:NAME or a bare path. SBOM is a
	// CycloneDX JSON SBOM checked in its place (its packages against the vulnerability
	// data). Both empty: only the Dockerfile is checked (imagegate lint).
	Image, SBOM string
	// Dockerfile is checked against the Dockerfile rules when its Path is set.
	Dockerfile Dockerfile
	// Checks selects the checks to run (default: all that apply); see AllScanners.
	Checks []string
	// Registry is how images are read from registries.
	Registry Registry
	// Limits bound what is read.
	Limits Limits
	// Data is the vulnerability data and how it is trusted.
	Data Data
	// Base is the base image, and whether its findings are left out.
	Base Base
	// IgnoreUnfixed drops vulnerabilities without a fixed version.
	IgnoreUnfixed bool
	// Config is .imagegate.yaml (loaded by config.Load; nil for none), and Policy decides
	// the verdict (default policy.Default).
	Config *config.Config
	Policy *policy.Policy
}

// Dockerfile is the image's Dockerfile and its build context folder (for .dockerignore
// and the files a broad COPY would take).
type Dockerfile struct {
	Path, Context string
}

// Registry is how images are read from registries. Username and Password authenticate to
// the registries CredentialsFor names (host[:port] as references spell it,
// index.docker.io for Docker Hub: the front ends put there the registries of the image and
// base image the user gave, never the core by scanning an image it found); every other
// registry, and every registry when they are empty, gets the default keychain's entry for
// it (docker config.json, credential helpers). Plain HTTP (Insecure) is for the same
// registries only.
type Registry struct {
	// Platform picks os/arch[/variant] from a multi-platform index (default linux/amd64).
	Platform           string
	Username, Password string
	CredentialsFor     []string
	Insecure           bool
	// Sources is where a bare image name is looked up, in order (default
	// image.DefaultSources: the Docker daemon, then the registry).
	Sources []string
}

// Limits bound what a scan reads (0: the defaults): the bytes kept in memory for one file,
// how many times its stored size a layer may expand to, the entries of one layer, the
// bytes of all files kept for the analyzers, and the text the secret scan reads.
type Limits struct {
	MaxFileSize       int64
	MaxLayerExpansion int64
	MaxLayerFiles     int
	MaxRetained       int64
	MaxSecretBytes    int64
}

// Data is the vulnerability data: DB is a folder made by 'imagegate db update' or 'db
// import', a folder of OSV export zips, or a database artifact oci://REF (default:
// vulndb.DefaultDir()). An artifact is used only when Verifier accepts its signature, or
// unsigned with Unsigned (the warned opt-out). MaxAge is the age past which the data is
// reported as stale (0: 7 days).
type Data struct {
	DB       string
	Verifier *trust.Verifier
	Unsigned bool
	MaxAge   time.Duration
}

// Base names the base image (a registry reference: Image, or with Resolve the
// Dockerfile's final FROM or the image's org.opencontainers.image.base.name annotation;
// it needs the network) to tell its layers apart and see whether its tag has moved on;
// Exclude drops the findings that come from its layers.
type Base struct {
	Image            string
	Resolve, Exclude bool
}

// Scanner is the core with the parts given to it once: a registry scan shares its open
// database and layer cache across images; tests and embedders give a keychain or an HTTP
// transport. The zero value (New()) opens what each scan needs itself.
type Scanner struct {
	store      *vulndb.Store
	layerCache image.LayerCache
	allDiffIDs bool
	keychain   authn.Keychain
	transport  http.RoundTripper
}

// Option gives the Scanner one of its parts.
type Option func(*Scanner)

// New makes a Scanner with the parts given.
func New(opts ...Option) *Scanner {
	s := &Scanner{}
	for _, o := range opts {
		o(s)
	}
	return s
}

// WithStore gives the open vulnerability database, used for every scan instead of
// Request.Data (the caller closes it).
func WithStore(st *vulndb.Store) Option { return func(s *Scanner) { s.store = st } }

// WithLayerCache keeps each registry layer's analysis under its digest: a layer shared
// by many images is read once.
func WithLayerCache(c image.LayerCache) Option { return func(s *Scanner) { s.layerCache = c } }

// WithAllDiffIDs checks every layer's content against its diff ID. By default only the
// layers base attribution rests on are checked (those matched against a resolved base
// image's): elsewhere a diff ID is a label of the config, like the history. A registry
// scan, which compares diff IDs across images to find their bases, checks them all.
func WithAllDiffIDs() Option { return func(s *Scanner) { s.allDiffIDs = true } }

// WithKeychain replaces the default keychain (docker config.json, credential helpers).
func WithKeychain(k authn.Keychain) Option { return func(s *Scanner) { s.keychain = k } }

// WithTransport replaces the HTTP transport to registries.
func WithTransport(t http.RoundTripper) Option { return func(s *Scanner) { s.transport = t } }
