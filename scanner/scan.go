// Package scanner is imagegate's core: Scan opens an image, walks its layers once and
// runs every analyzer over the result. Front ends (CLI, GitHub Action, Azure DevOps task)
// only build Options and hand the Result to reporters.
package scanner

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/baseimage"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/dockerfile"
	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/imagecheck"
	"github.com/imagegate/imagegate/scanner/imageref"
	"github.com/imagegate/imagegate/scanner/inventory"
	"github.com/imagegate/imagegate/scanner/match"
	"github.com/imagegate/imagegate/scanner/policy"
	"github.com/imagegate/imagegate/scanner/sbom"
	"github.com/imagegate/imagegate/scanner/vulndb"
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
	// Username and Password authenticate to the registry; when empty, the default keychain
	// (docker config.json, credential helpers) is used.
	Username, Password string
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

// Scan runs the checks Options asks for: the image's inventory and vulnerabilities, and
// the Dockerfile rules; then decides the verdict.
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
	var doc *sbom.Document
	if opts.SBOM != "" {
		if doc, err = sbom.ReadFile(opts.SBOM); err != nil {
			return nil, err
		}
	}
	cfg := opts.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	res := &report.Result{Findings: []report.Finding{}}

	// Parse the Dockerfile and open the database before the image: bad input fails fast.
	var df *dockerfile.Dockerfile
	if opts.Dockerfile != "" && scanners[ScannerDockerfile] {
		if df, err = dockerfile.ParseFile(opts.Dockerfile); err != nil {
			return nil, err
		}
		if err := dockerfile.CheckContext(df, opts.ContextDir); err != nil {
			return nil, err
		}
	}
	var store *vulndb.Store
	if (opts.Image != "" || doc != nil) && scanners[ScannerVuln] {
		dbPath := opts.DB
		if dbPath == "" {
			dbPath = vulndb.DefaultDir()
		}
		if store, err = vulndb.OpenPath(ctx, dbPath); err != nil {
			return nil, err
		}
		defer store.Close()
	}
	if opts.Image != "" {
		if err := scanImage(ctx, opts, scanners, store, df, res); err != nil {
			return nil, err
		}
	}
	if doc != nil {
		if err := scanSBOM(ctx, opts, doc, store, res); err != nil {
			return nil, err
		}
	}
	if df != nil {
		res.Dockerfile = opts.Dockerfile
		res.Findings = append(res.Findings, dockerfile.Lint(df, dockerfile.Options{
			ContextDir: opts.ContextDir,
			Disabled:   cfg.Dockerfile.Disable,
			Severity:   ruleSeverities(cfg.Dockerfile.Severities()),
		})...)
	}
	res.Findings = dropRepeats(res.Findings)
	sortFindings(res.Findings)
	p := policy.Default
	if opts.Policy != nil {
		p = *opts.Policy
	}
	p.Ignores = append(p.Ignores, expandRuleIgnores(cfg.Ignore)...)
	if res.Image != nil {
		p.ImageIDs = append(p.ImageIDs, imageIDs(res.Image)...)
	}
	var warnings []string
	res.Findings, res.Verdict, warnings = policy.Apply(res.Findings, p)
	res.Warnings = append(res.Warnings, warnings...)
	// An analysis that stopped early makes the run incomplete, and an incomplete run
	// never passes the gate unless the policy allows it, said in the verdict.
	if err := context.Cause(ctx); err != nil {
		return nil, failure.Incompletef("the scan did not finish: %w", err)
	}
	res.Verdict.Incomplete = len(res.Incomplete)
	res.Verdict.AllowIncomplete = p.AllowIncomplete
	if res.Verdict.Incomplete > 0 && !p.AllowIncomplete {
		res.Verdict.Pass = false
	}
	return res, nil
}

// expandRuleIgnores turns a hadolint id in an ignore entry's rule into our rule ids.
func expandRuleIgnores(in []policy.Ignore) []policy.Ignore {
	var out []policy.Ignore
	for _, ig := range in {
		if ig.Rule == "" {
			out = append(out, ig)
			continue
		}
		ids := dockerfile.RuleIDs(ig.Rule)
		if len(ids) == 0 {
			out = append(out, ig) // unknown rule: matches nothing, harmlessly
		}
		for _, id := range ids {
			c := ig
			c.Rule = id
			out = append(out, c)
		}
	}
	return out
}

// imageIDs are the names a VEX document may use for the scanned image: its reference and
// an OCI purl with its digest.
func imageIDs(img *report.ImageInfo) []string {
	ids := []string{img.Name}
	repo := filepath.Base(img.Name) // an archive: its file name
	if r, ok := imageref.Parse(img.Repository); ok {
		repo = r.ShortName()
	}
	for _, d := range []string{img.Digest, img.IndexDigest, img.ID} {
		if d != "" {
			ids = append(ids, "pkg:oci/"+repo+"@"+strings.Replace(d, ":", "%3A", 1))
		}
	}
	return ids
}

// repository is a registry or daemon image's reference without tag and digest.
func repository(name, transport string) string {
	if transport != "registry" && transport != "docker-daemon" {
		return ""
	}
	r, ok := imageref.Parse(name)
	if !ok {
		return ""
	}
	return r.Repository
}

// repeats are image checks that say what a Dockerfile rule already said, with its line.
var repeats = map[string][]string{
	"IC001": {"DF001", "DF002"},
	"IC002": {"DF009"},
	"IC004": {"DF010"},
	"IC006": {"DF055"},
	"IC007": {"DF054"},
}

// dropRepeats leaves out image findings that a Dockerfile finding already reports.
func dropRepeats(fs []report.Finding) []report.Finding {
	fired := map[string]bool{}
	for _, f := range fs {
		if f.Kind == report.KindDockerfile {
			fired[f.ID] = true
		}
	}
	out := fs[:0]
	for _, f := range fs {
		dup := false
		if f.Kind == report.KindImage {
			for _, id := range repeats[f.ID] {
				dup = dup || fired[id]
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// ruleSeverities keys severity overrides by rule id (hadolint ids are accepted too).
func ruleSeverities(in map[string]report.Severity) map[string]report.Severity {
	out := map[string]report.Severity{}
	for id, s := range in {
		if r, ok := dockerfile.RuleByID(id); ok {
			out[r.ID] = s
		}
	}
	return out
}

// sortFindings orders findings most severe first, then by kind, package or location.
func sortFindings(fs []report.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return false
	})
}

func scanImage(ctx context.Context, opts Options, scanners map[string]bool, store *vulndb.Store, df *dockerfile.Dockerfile, res *report.Result) error {
	openOpts := []image.Option{
		image.WithPlatform(opts.Platform),
		image.WithBasicAuth(opts.Username, opts.Password),
		image.WithInsecure(opts.Insecure),
	}
	if len(opts.Sources) > 0 {
		openOpts = append(openOpts, image.WithSources(opts.Sources))
	}
	if opts.Keychain != nil {
		openOpts = append(openOpts, image.WithKeychain(opts.Keychain))
	}
	if opts.Transport != nil {
		openOpts = append(openOpts, image.WithTransport(opts.Transport))
	}
	img, err := image.Open(ctx, opts.Image, openOpts...)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return failure.Inputf("image config: %w", err)
	}
	inv, err := inventory.New()
	if err != nil {
		return err
	}
	checks, err := imagecheck.New()
	if err != nil {
		return err
	}
	checks.MaxSecretBytes = opts.MaxSecretBytes
	walkOpts := []image.WalkOption{image.WithConsumer(inv), image.WithMaxExpansion(opts.MaxLayerExpansion), image.WithMaxFilesPerLayer(opts.MaxLayerFiles), image.WithMaxRetained(opts.MaxRetained)}
	if opts.MaxFileSize > 0 {
		walkOpts = append(walkOpts, image.WithMaxFileSize(opts.MaxFileSize))
	}
	if scanners[ScannerSecret] {
		walkOpts = append(walkOpts, image.WithConsumer(checks))
	}
	req := image.Requirers{inv}
	if scanners[ScannerConfig] {
		req = append(req, checks) // the account files the config checks read
	}
	idx, err := image.Walk(ctx, img, req, walkOpts...)
	if err != nil {
		return err
	}
	pkgs, err := inv.Analyze(ctx, idx)
	if err != nil {
		return err
	}
	res.Image = &report.ImageInfo{
		Name:        img.Name,
		Repository:  repository(img.Name, string(img.Transport)),
		Transport:   string(img.Transport),
		Digest:      img.Digest,
		IndexDigest: img.IndexDigest,
		ID:          img.ID,
		Platform:    img.Platform,
	}
	// History entries can carry build arguments: mask the secret ones before anything
	// repeats them (the layers list, attribution, findings).
	redacted := cf.DeepCopy()
	for i := range redacted.History {
		redacted.History[i].CreatedBy = checks.Redact(ctx, redacted.History[i].CreatedBy)
	}
	for i := range idx.Layers {
		idx.Layers[i].CreatedBy = checks.Redact(ctx, idx.Layers[i].CreatedBy)
	}
	res.OS, res.Layers, res.Packages = pkgs.OS, idx.Layers, pkgs.Packages
	res.Warnings = append(res.Warnings, idx.Warnings()...)
	res.Warnings = append(res.Warnings, pkgs.Warnings...)
	res.Incomplete = append(res.Incomplete, pkgs.Incomplete...)
	if store != nil {
		if err := matchVulnerabilities(ctx, store, opts, res); err != nil {
			return err
		}
	}
	if scanners[ScannerConfig] || scanners[ScannerSecret] {
		res.Incomplete = append(res.Incomplete, checks.Incomplete()...)
		for _, f := range checks.Check(ctx, cf, idx) {
			if (f.Kind == report.KindSecret && scanners[ScannerSecret]) || (f.Kind == report.KindImage && scanners[ScannerConfig]) {
				res.Findings = append(res.Findings, f)
			}
		}
	}
	attribute(ctx, opts, openOpts, img, redacted, df, res)
	// Last: what the index could not resolve includes lookups the checks made above.
	res.Incomplete = append(res.Incomplete, idx.Incomplete()...)
	return nil
}

// attribute splits the layers into base and app, maps findings to Dockerfile lines,
// reports a base image whose tag has moved on, and applies --exclude-base.
func attribute(ctx context.Context, opts Options, openOpts []image.Option, img *image.Image, cf *v1.ConfigFile, df *dockerfile.Dockerfile, res *report.Result) {
	in := baseimage.Input{Config: cf, Dockerfile: df}
	baseRef := opts.BaseImage
	if baseRef == "" && opts.ResolveBase {
		if df != nil && !strings.Contains(df.Final().Base, "$") && df.Final().Base != "scratch" {
			baseRef = df.Final().Base
		} else if m, err := img.Manifest(); err == nil {
			baseRef = m.Annotations["org.opencontainers.image.base.name"]
		}
	}
	if baseRef != "" {
		base, err := image.Open(ctx, baseRef, append(openOpts, image.WithPlatform(img.Platform))...)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("base image %s could not be resolved (%v): attribution falls back to the history", baseRef, oneLine(err.Error())))
		} else if bcf, err := base.ConfigFile(); err == nil {
			var ids []string
			for _, d := range bcf.RootFS.DiffIDs {
				ids = append(ids, d.String())
			}
			if sharesPrefix(cf, ids) {
				in.BaseDiffIDs = ids
			} else {
				res.Findings = append(res.Findings, baseimage.StaleFinding(baseRef, base.Digest, df))
			}
		}
	}
	a := baseimage.Attribute(in)
	res.Warnings = append(res.Warnings, a.Warnings...)
	applyAttribution(opts, a, res)
}

// applyAttribution records each finding's origin and the split, and applies
// --exclude-base.
func applyAttribution(opts Options, a *baseimage.Attribution, res *report.Result) {
	a.Apply(res.Findings)
	if a.Method != "" {
		res.Base = &report.BaseInfo{Layers: a.BaseLayers, Method: a.Method, Inferred: a.Inferred}
	}
	if !opts.ExcludeBase {
		return
	}
	if a.Method == "" {
		res.Warnings = append(res.Warnings, "exclude-base: the base image's layers could not be told apart; nothing was excluded")
		return
	}
	kept := res.Findings[:0]
	for _, f := range res.Findings {
		if f.Origin != "base" {
			kept = append(kept, f)
		}
	}
	res.Findings = kept
}

// scanSBOM matches an SBOM's packages and gives their findings the SBOM's base/app split.
func scanSBOM(ctx context.Context, opts Options, doc *sbom.Document, store *vulndb.Store, res *report.Result) error {
	res.Image = &report.ImageInfo{Name: doc.Name, Transport: "sbom", Digest: doc.Version, ID: doc.ImageID, Platform: doc.Platform}
	if !strings.HasPrefix(doc.Version, "sha256:") {
		res.Image.Digest = ""
	}
	res.OS, res.Packages = doc.OS, doc.Packages
	res.Warnings = append(res.Warnings, doc.Warnings...)
	if store != nil {
		if err := matchVulnerabilities(ctx, store, opts, res); err != nil {
			return err
		}
	}
	// The SBOM keeps the split, not the layers: findings from the first BaseLayers layers
	// are the base image's.
	applyAttribution(opts, &baseimage.Attribution{BaseLayers: doc.BaseLayers, Method: doc.Attribution, Inferred: doc.Inferred}, res)
	return nil
}

func sharesPrefix(cf *v1.ConfigFile, base []string) bool {
	if len(base) > len(cf.RootFS.DiffIDs) {
		return false
	}
	for i, id := range base {
		if cf.RootFS.DiffIDs[i].String() != id {
			return false
		}
	}
	return true
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

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

func matchVulnerabilities(ctx context.Context, store *vulndb.Store, opts Options, res *report.Result) error {
	m, err := match.Match(ctx, store, res.Packages, match.Options{IgnoreUnfixed: opts.IgnoreUnfixed})
	if err != nil {
		return err
	}
	res.Findings = append(res.Findings, m.Findings...)
	res.Warnings = append(res.Warnings, m.Warnings...)
	maxAge := opts.DBMaxAge
	if maxAge <= 0 {
		maxAge = DefaultDBMaxAge
	}
	used := map[string]bool{}
	for _, p := range res.Packages {
		if p.Ecosystem != "" {
			used[vulndb.BaseEcosystem(p.Ecosystem)] = true
		}
	}
	for _, info := range store.Infos() {
		if !used[info.Ecosystem] {
			continue
		}
		res.Data = append(res.Data, report.DataSource{Ecosystem: info.Ecosystem, Records: info.Records, Source: info.Source, Updated: info.Updated})
		if age := time.Since(info.Updated); age > maxAge {
			res.Warnings = append(res.Warnings, fmt.Sprintf("vulnerability data for %s is %d days old (last updated %s): run 'imagegate db update'",
				info.Ecosystem, int(age.Hours()/24), info.Updated.Format("2006-01-02")))
		}
	}
	for _, eco := range slices.Sorted(maps.Keys(m.Unchecked)) {
		if eco == "(unknown)" {
			res.Incomplete = append(res.Incomplete, fmt.Sprintf("%d packages have no known ecosystem (no os-release?) and were not checked for vulnerabilities", m.Unchecked[eco]))
			continue
		}
		res.Incomplete = append(res.Incomplete, fmt.Sprintf("no vulnerability data for %s: %d packages not checked (run 'imagegate db update --ecosystems %s')", eco, m.Unchecked[eco], eco))
	}
	return nil
}
