// Package scanner is imagegate's core: Scan opens an image, walks its layers once and
// runs every analyzer over the result. Front ends (CLI, GitHub Action, Azure DevOps task)
// only build Options and hand the Result to reporters.
package scanner

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/imagegate/cyclonedx"
	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/analyzer"
	"github.com/imagegate/imagegate/scanner/baseimage"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/dockerfile"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/policy"
	"github.com/imagegate/imagegate/scanner/secrets"
	"github.com/imagegate/imagegate/scanner/vulndb"
	"github.com/imagegate/imagegate/trust"
)

// Options is everything a scan needs; every front end builds one.
type Options struct {
	// SBOM is a CycloneDX JSON SBOM to check instead of an image: its packages are matched
	// against the vulnerability data (Image must be empty).
	SBOM string
	// Image is the image argument: a registry reference, docker-archive:PATH,
	// oci-archive:PATH, oci-dir:PATH, docker-daemon:NAME or a bare path. Empty: only the
	// Dockerfile is checked (imagegate lint).
	Image string
	// Platform picks os/arch[/variant] from a multi-platform index (default linux/amd64).
	Platform string
	// Username and Password authenticate to the registries CredentialsFor names (host[:port]
	// as references spell it, index.docker.io for Docker Hub: the front ends put there the
	// registries of the image and base image the user gave, never the core by scanning an
	// image it found); every other registry, and every registry when they are empty, gets
	// the default keychain's entry for it (docker config.json, credential helpers). Plain
	// HTTP (Insecure) is for the same registries only.
	Username, Password string
	CredentialsFor     []string
	// Insecure allows plain-HTTP registries.
	Insecure bool
	// Sources is where a bare image name is looked up, in order (default
	// image.DefaultSources: the Docker daemon, then the registry).
	Sources []string
	// MaxFileSize bounds the bytes kept in memory for one file (0: the default).
	MaxFileSize int64
	// MaxLayerExpansion bounds how many times its stored size a layer may expand to, and
	// MaxLayerFiles the entries of one layer (0: the defaults, image.DefaultMaxExpansion
	// and image.DefaultMaxFilesPerLayer).
	MaxLayerExpansion int64
	MaxLayerFiles     int
	// MaxRetained bounds the bytes of all files kept for the analyzers (0: the default,
	// image.DefaultMaxRetained).
	MaxRetained int64
	// MaxSecretBytes bounds the text the secret scan reads (0: the default, 4 GiB).
	MaxSecretBytes int64

	// Scanners selects the checks to run (default: all that apply); see AllScanners.
	Scanners []string
	// DB is the vulnerability database: a folder made by 'imagegate db update' or
	// 'imagegate db import', or a folder of OSV export zips (default: vulndb.DefaultDir()).
	DB string
	// DBVerifier checks the signature of a database artifact (DB oci://REF) before it is
	// used; UnsignedDB uses an unsigned one instead (the warned opt-out).
	DBVerifier *trust.Verifier
	UnsignedDB bool
	// DBMaxAge is the age past which the data is reported as stale (0: 7 days).
	DBMaxAge time.Duration
	// IgnoreUnfixed drops vulnerabilities without a fixed version.
	IgnoreUnfixed bool
	// ExcludeBase drops findings that come from the base image's layers.
	ExcludeBase bool
	// BaseImage names the base image (a registry reference); it is resolved in the
	// registry to tell its layers apart and to see whether its tag has moved on.
	BaseImage string
	// ResolveBase also resolves the Dockerfile's final FROM (or the image's
	// org.opencontainers.image.base.name annotation) in the registry. Off by default: it
	// needs the network.
	ResolveBase bool

	// Dockerfile is checked against the Dockerfile rules when set; ContextDir is its build
	// context folder (for .dockerignore and the files a broad COPY would take).
	Dockerfile string
	ContextDir string
	// Config is .imagegate.yaml (loaded by config.Load); nil for none.
	Config *config.Config

	// Policy decides the verdict (default policy.Default).
	Policy *policy.Policy

	// LayerCache, when set, keeps each registry layer's analysis under its digest: a layer
	// shared by many images is read once (imagegate registry scan).
	LayerCache image.LayerCache
	// CheckAllDiffIDs checks every layer's content against its diff ID. By default only the
	// layers base attribution rests on are checked (those matched against a resolved base
	// image's): elsewhere a diff ID is a label of the config, like the history. A registry
	// scan, which compares diff IDs across images to find their bases, checks them all.
	CheckAllDiffIDs bool
	// Store, when set, is the open vulnerability database, used instead of DB (a registry
	// scan opens it once for all its images).
	Store *vulndb.Store

	// Keychain and Transport replace the defaults (tests, embedding).
	Keychain  authn.Keychain
	Transport http.RoundTripper
}

// Scanner names.
const (
	ScannerVuln       = "vuln"
	ScannerDockerfile = "dockerfile"
	ScannerConfig     = "config" // the built image's config and files
	ScannerSecret     = "secret" // secrets in every layer
)

// ScannerNone, alone, runs no check: the scan only lists the packages (imagegate sbom).
const ScannerNone = "none"

// AllScanners lists the checks Scan can run.
var AllScanners = []string{ScannerVuln, ScannerDockerfile, ScannerConfig, ScannerSecret}

// DefaultDBMaxAge is the age past which vulnerability data is reported as stale.
const DefaultDBMaxAge = 7 * 24 * time.Hour

// Scan runs the checks Options asks for and decides the verdict. It is a short pipeline:
// inputs (Dockerfile, database, SBOM: bad input fails before any image is read) → source
// (the image, and the base image when one is named) → one layer walk feeding every
// analyzer → vulnerability matching → attribution to base or app and to Dockerfile lines
// → Dockerfile rules → policy.
func Scan(ctx context.Context, opts Options) (*report.Result, error) {
	scanners, err := selectScanners(opts.Scanners)
	if err != nil {
		return nil, err
	}
	if opts.Image == "" && opts.Dockerfile == "" && opts.SBOM == "" {
		return nil, failure.Inputf("nothing to scan: give an image, an SBOM or a Dockerfile")
	}
	if opts.Image != "" && opts.SBOM != "" {
		return nil, failure.Inputf("give an image or an SBOM, not both")
	}
	in, err := readInputs(ctx, opts, scanners)
	if err != nil {
		return nil, err
	}
	defer in.close()
	checks := checksRun(opts, scanners, in)
	if len(checks) == 0 && len(scanners) > 0 {
		// A gate that checked nothing would pass on nothing.
		return nil, failure.WithSetting(failure.Inputf("no check can run: none of the checks asked for has anything to look at (dockerfile needs a Dockerfile; vuln an image or an SBOM; config and secret an image)"), "scanners")
	}

	res := &report.Result{Findings: []report.Finding{}}
	switch {
	case opts.Image != "":
		err = scanImage(ctx, opts, scanners, in, res)
	case in.sbom != nil:
		err = scanSBOM(ctx, opts, in, res)
	}
	if err != nil {
		return nil, err
	}
	if in.dockerfile != nil {
		res.Dockerfile = opts.Dockerfile
		res.Findings = append(res.Findings, dockerfile.Lint(in.dockerfile, dockerfile.Options{
			ContextDir: opts.ContextDir,
			Disabled:   in.config.Dockerfile.Disable,
			Severity:   dockerfile.Severities(in.config.Dockerfile.Severities()),
		})...)
	}
	if err := decide(ctx, opts.Policy, in.config, res); err != nil {
		return nil, err
	}
	res.Verdict.Checks = checks
	return res, nil
}

// checksRun names the checks this scan ran: those asked for that had something to check
// (an image, an SBOM, a Dockerfile).
func checksRun(opts Options, scanners map[string]bool, in *inputs) []report.Kind {
	ran := map[report.Kind]bool{
		report.KindVulnerability: in.store != nil,
		report.KindDockerfile:    in.dockerfile != nil,
		report.KindImage:         opts.Image != "" && scanners[ScannerConfig],
		report.KindSecret:        opts.Image != "" && scanners[ScannerSecret],
	}
	checks := []report.Kind{}
	for _, k := range report.Kinds {
		if ran[k] {
			checks = append(checks, k)
		}
	}
	return checks
}

// inputs are the files a scan reads before the image.
type inputs struct {
	config     *config.Config
	dockerfile *dockerfile.Dockerfile
	store      *vulndb.Store
	sbom       *cyclonedx.Document
	shared     bool // the store is the caller's
}

func (in *inputs) close() {
	if in.store != nil && !in.shared {
		in.store.Close()
	}
}

// readInputs parses the Dockerfile, reads the SBOM and opens the database: bad input fails
// fast, before an image is pulled.
func readInputs(ctx context.Context, opts Options, scanners map[string]bool) (*inputs, error) {
	in := &inputs{config: opts.Config}
	if in.config == nil {
		in.config = &config.Config{}
	}
	var err error
	if opts.SBOM != "" {
		if in.sbom, err = cyclonedx.ReadFile(opts.SBOM); err != nil {
			return nil, err
		}
	}
	if opts.Dockerfile != "" && scanners[ScannerDockerfile] {
		if in.dockerfile, err = dockerfile.ParseFile(opts.Dockerfile); err != nil {
			return nil, err
		}
		if err := dockerfile.CheckContext(in.dockerfile, opts.ContextDir); err != nil {
			return nil, err
		}
	}
	if (opts.Image != "" || in.sbom != nil) && scanners[ScannerVuln] && opts.Store != nil {
		in.store, in.shared = opts.Store, true
	} else if (opts.Image != "" || in.sbom != nil) && scanners[ScannerVuln] {
		if in.store, err = OpenStore(ctx, opts); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// OpenStore opens the vulnerability database Options name (DB, or the default folder); a
// database artifact (oci://REF) is pulled with the image's registry settings.
func OpenStore(ctx context.Context, opts Options) (*vulndb.Store, error) {
	dbPath := opts.DB
	if dbPath == "" {
		dbPath = vulndb.DefaultDir()
	}
	ro := vulndb.RemoteOptions{Insecure: opts.Insecure, Keychain: opts.Keychain, Transport: opts.Transport, Verifier: opts.DBVerifier, AllowUnsigned: opts.UnsignedDB}
	return vulndb.OpenPath(ctx, dbPath, ro)
}

// Wants reports whether Options run the scanner named (see AllScanners); an unknown
// name in Options.Scanners is an error.
func Wants(opts Options, scanner string) (bool, error) {
	set, err := selectScanners(opts.Scanners)
	return set[scanner], err
}

func scanImage(ctx context.Context, opts Options, scanners map[string]bool, in *inputs, res *report.Result) error {
	src, err := openSource(ctx, opts, in.dockerfile)
	if err != nil {
		return err
	}
	det, err := secrets.New()
	if err != nil {
		return err
	}
	aopts := analyzer.Options{Config: scanners[ScannerConfig], Secrets: scanners[ScannerSecret], MaxSecretBytes: opts.MaxSecretBytes, MaxFileSize: opts.MaxFileSize}
	list, err := analyzer.List(det, aopts)
	if err != nil {
		return err
	}
	req, walkOpts := analyzer.WalkOptions(list)
	if opts.LayerCache != nil {
		walkOpts = append(walkOpts, image.WithLayerCache(opts.LayerCache, analyzer.CacheVersion(list, aopts)))
	}
	walkOpts = append(walkOpts, image.WithMaxExpansion(opts.MaxLayerExpansion), image.WithMaxFilesPerLayer(opts.MaxLayerFiles), image.WithMaxRetained(opts.MaxRetained))
	if !opts.CheckAllDiffIDs {
		walkOpts = append(walkOpts, image.WithDiffIDChecks(len(src.baseDiffIDs)))
	}
	if opts.MaxFileSize > 0 {
		walkOpts = append(walkOpts, image.WithMaxFileSize(opts.MaxFileSize))
	}
	idx, err := image.Walk(ctx, src.img, req, walkOpts...)
	if err != nil {
		return err
	}
	res.Image = src.info()
	if err := analyzer.Run(ctx, list, idx, src.config, res); err != nil {
		return err
	}
	// History entries can carry build arguments: mask the secret ones before anything
	// repeats them (the layers list, attribution, findings).
	history := src.config.DeepCopy()
	for i := range history.History {
		history.History[i].CreatedBy = det.Redact(ctx, history.History[i].CreatedBy)
	}
	for i := range idx.Layers {
		idx.Layers[i].CreatedBy = det.Redact(ctx, idx.Layers[i].CreatedBy)
	}
	res.Layers = idx.Layers
	res.Warnings = append(res.Warnings, idx.Warnings()...)
	if in.store != nil {
		if err := matchVulnerabilities(ctx, in.store, opts.IgnoreUnfixed, opts.DBMaxAge, res); err != nil {
			return err
		}
	}
	a := attribute(src, history, in.dockerfile, res)
	excludeBase(opts.ExcludeBase, a, res)
	// Last: what the index could not resolve includes lookups the analyzers made.
	res.Incomplete = append(res.Incomplete, idx.Incomplete()...)
	return nil
}

// scanSBOM matches an SBOM's packages and gives their findings the SBOM's base/app split.
func scanSBOM(ctx context.Context, opts Options, in *inputs, res *report.Result) error {
	doc := in.sbom
	res.Image = &report.ImageInfo{Name: doc.Name, Transport: report.TransportSBOM, Digest: doc.Version, ID: doc.ImageID, Platform: doc.Platform}
	if !strings.HasPrefix(doc.Version, "sha256:") {
		res.Image.Digest = ""
	}
	res.OS, res.Packages = doc.OS, doc.Packages
	res.Warnings = append(res.Warnings, doc.Warnings...)
	if in.store != nil {
		if err := matchVulnerabilities(ctx, in.store, opts.IgnoreUnfixed, opts.DBMaxAge, res); err != nil {
			return err
		}
	}
	// The SBOM keeps the split, not the layers: findings from the first BaseLayers layers
	// are the base image's.
	a := &baseimage.Attribution{BaseLayers: doc.BaseLayers, Method: doc.Attribution, Inferred: doc.Inferred}
	recordAttribution(a, res)
	excludeBase(opts.ExcludeBase, a, res)
	return nil
}

func selectScanners(names []string) (map[string]bool, error) {
	if len(names) == 0 {
		names = AllScanners
	}
	set := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == ScannerNone && len(names) == 1 {
			return set, nil
		}
		if !slices.Contains(AllScanners, n) {
			return nil, failure.Inputf("unknown scanner %q: want %s", n, strings.Join(AllScanners, ", "))
		}
		set[n] = true
	}
	return set, nil
}
