// Package scanner is imagegate's core: Scan opens an image, walks its layers once and
// runs every analyzer over the result. Front ends (CLI, GitHub Action, Azure DevOps task)
// only build a Request, and hand the Result to reporters; a registry scan gives the
// Scanner its shared parts (the open database, the layer cache) once.
package scanner

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/imagegate/imagegate/cyclonedx"
	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/analyzer"
	"github.com/imagegate/imagegate/scanner/baseimage"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/dockerfile"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/secrets"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

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

// Scan runs the checks the request asks for and decides the verdict. It is a short pipeline:
// inputs (Dockerfile, database, SBOM: bad input fails before any image is read) → source
// (the image, and the base image when one is named) → one layer walk feeding every
// analyzer → vulnerability matching → attribution to base or app and to Dockerfile lines
// → Dockerfile rules → policy.
func (s *Scanner) Scan(ctx context.Context, r Request) (*report.Result, error) {
	scanners, err := selectScanners(r.Checks)
	if err != nil {
		return nil, err
	}
	if r.Image == "" && r.Dockerfile.Path == "" && r.SBOM == "" {
		return nil, failure.Inputf("nothing to scan: give an image, an SBOM or a Dockerfile")
	}
	if r.Image != "" && r.SBOM != "" {
		return nil, failure.Inputf("give an image or an SBOM, not both")
	}
	if r.Registry.Platform == image.AllPlatforms {
		return nil, failure.WithSetting(failure.Inputf("platform all is for imagegate scan (every platform of an index, a result each): name one platform here (os/arch)"), "platform")
	}
	in, err := s.readInputs(ctx, r, scanners)
	if err != nil {
		return nil, err
	}
	defer in.close()
	checks := checksRun(r, scanners, in)
	if len(checks) == 0 && len(scanners) > 0 {
		// A gate that checked nothing would pass on nothing.
		return nil, failure.WithSetting(failure.Inputf("no check can run: none of the checks asked for has anything to look at (dockerfile needs a Dockerfile; vuln an image or an SBOM; config and secret an image)"), "scanners")
	}

	res := &report.Result{Findings: []report.Finding{}}
	switch {
	case r.Image != "":
		err = s.scanImage(ctx, r, scanners, in, res)
	case in.sbom != nil:
		err = scanSBOM(ctx, r, in, res)
	}
	if err != nil {
		return nil, err
	}
	if in.dockerfile != nil {
		res.Dockerfile = r.Dockerfile.Path
		res.Findings = append(res.Findings, dockerfile.Lint(in.dockerfile, dockerfile.Options{
			ContextDir: r.Dockerfile.Context,
			Disabled:   in.config.Dockerfile.Disable,
			Severity:   dockerfile.Severities(in.config.Dockerfile.Severities()),
		})...)
	}
	if err := decide(ctx, r.Policy, in.config, res); err != nil {
		return nil, err
	}
	res.Verdict.Checks = checks
	return res, nil
}

// checksRun names the checks this scan ran: those asked for that had something to check
// (an image, an SBOM, a Dockerfile).
func checksRun(r Request, scanners map[string]bool, in *inputs) []report.Kind {
	ran := map[report.Kind]bool{
		report.KindVulnerability: in.store != nil,
		report.KindDockerfile:    in.dockerfile != nil,
		report.KindImage:         r.Image != "" && scanners[ScannerConfig],
		report.KindSecret:        r.Image != "" && scanners[ScannerSecret],
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
func (s *Scanner) readInputs(ctx context.Context, r Request, scanners map[string]bool) (*inputs, error) {
	in := &inputs{config: r.Config}
	if in.config == nil {
		in.config = &config.Config{}
	}
	var err error
	if r.SBOM != "" {
		if in.sbom, err = cyclonedx.ReadFile(r.SBOM); err != nil {
			return nil, err
		}
	}
	if r.Dockerfile.Path != "" && scanners[ScannerDockerfile] {
		if in.dockerfile, err = dockerfile.ParseFile(r.Dockerfile.Path); err != nil {
			return nil, err
		}
		if err := dockerfile.CheckContext(in.dockerfile, r.Dockerfile.Context); err != nil {
			return nil, err
		}
	}
	if (r.Image != "" || in.sbom != nil) && scanners[ScannerVuln] && s.store != nil {
		in.store, in.shared = s.store, true
	} else if (r.Image != "" || in.sbom != nil) && scanners[ScannerVuln] {
		if in.store, err = s.OpenStore(ctx, r); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// OpenStore opens the vulnerability database the request names (Data.DB, or the default
// folder); a database artifact (oci://REF) is pulled with the request's registry settings
// and verified as Data says.
func (s *Scanner) OpenStore(ctx context.Context, r Request) (*vulndb.Store, error) {
	dbPath := r.Data.DB
	if dbPath == "" {
		dbPath = vulndb.DefaultDir()
	}
	ro := vulndb.RemoteOptions{Insecure: r.Registry.Insecure, Keychain: s.keychain, Transport: s.transport, Verifier: r.Data.Verifier, AllowUnsigned: r.Data.Unsigned}
	return vulndb.OpenPath(ctx, dbPath, ro)
}

// Wants reports whether the request runs the check named (see AllScanners); an unknown
// name in Request.Checks is an error.
func (r Request) Wants(check string) (bool, error) {
	set, err := selectScanners(r.Checks)
	return set[check], err
}

func (s *Scanner) scanImage(ctx context.Context, r Request, scanners map[string]bool, in *inputs, res *report.Result) error {
	src, err := s.openSource(ctx, r, in.dockerfile)
	if err != nil {
		return err
	}
	det, err := secrets.New()
	if err != nil {
		return err
	}
	aopts := analyzer.Options{Config: scanners[ScannerConfig], Secrets: scanners[ScannerSecret], MaxSecretBytes: r.Limits.MaxSecretBytes, MaxFileSize: r.Limits.MaxFileSize}
	list, err := analyzer.List(det, aopts)
	if err != nil {
		return err
	}
	req, walkOpts := analyzer.WalkOptions(list)
	if s.layerCache != nil {
		walkOpts = append(walkOpts, image.WithLayerCache(s.layerCache, analyzer.CacheVersion(list, aopts)))
	}
	walkOpts = append(walkOpts, image.WithMaxExpansion(r.Limits.MaxLayerExpansion), image.WithMaxFilesPerLayer(r.Limits.MaxLayerFiles), image.WithMaxRetained(r.Limits.MaxRetained))
	if !s.allDiffIDs {
		walkOpts = append(walkOpts, image.WithDiffIDChecks(len(src.baseDiffIDs)))
	}
	if r.Limits.MaxFileSize > 0 {
		walkOpts = append(walkOpts, image.WithMaxFileSize(r.Limits.MaxFileSize))
	}
	idx, err := image.Walk(ctx, src.img, req, walkOpts...)
	if err != nil {
		return err
	}
	defer idx.Close()
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
		if err := matchVulnerabilities(ctx, in.store, r.IgnoreUnfixed, r.Data.MaxAge, res); err != nil {
			return err
		}
	}
	a := attribute(src, history, in.dockerfile, res)
	excludeBase(r.Base.Exclude, a, res)
	// Last: what the index could not resolve includes lookups the analyzers made.
	res.Incomplete = append(res.Incomplete, idx.Incomplete()...)
	return nil
}

// scanSBOM matches an SBOM's packages and gives their findings the SBOM's base/app split.
func scanSBOM(ctx context.Context, r Request, in *inputs, res *report.Result) error {
	doc := in.sbom
	res.Image = &report.ImageInfo{Name: doc.Name, Transport: report.TransportSBOM, Digest: doc.Version, ID: doc.ImageID, Platform: doc.Platform}
	if !strings.HasPrefix(doc.Version, "sha256:") {
		res.Image.Digest = ""
	}
	res.OS, res.Packages = doc.OS, doc.Packages
	res.Warnings = append(res.Warnings, doc.Warnings...)
	if in.store != nil {
		if err := matchVulnerabilities(ctx, in.store, r.IgnoreUnfixed, r.Data.MaxAge, res); err != nil {
			return err
		}
	}
	// The SBOM keeps the split, not the layers: findings from the first BaseLayers layers
	// are the base image's.
	a := &baseimage.Attribution{BaseLayers: doc.BaseLayers, Method: doc.Attribution, Inferred: doc.Inferred}
	recordAttribution(a, res)
	excludeBase(r.Base.Exclude, a, res)
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
