// Package flags is the one definition of the scan flags. The CLI registers them on its
// commands; the CI front ends set them from their inputs and then parse the user's
// additional arguments over them, so every scan flag means the same in all three.
package flags

import (
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/pflag"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/policy"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// Gate are the flags scan and lint share: the policy, the config and the reports.
type Gate struct {
	Threshold string
	Unknown   string
	FailOn    bool
	ReportAll bool
	AllowInc  bool
	Config    string
	VEX       []string
	Baseline  []string
	Reach     string
	Format    string
	Outputs   []string
	Category  string
	ListPkgs  bool

	// Specs are the parsed --output values (set by Prepare).
	Specs []output.Spec
}

// Register adds the gate flags to fl.
func (g *Gate) Register(fl *pflag.FlagSet) {
	fl.StringVar(&g.Threshold, "severity-threshold", "low", "lowest severity that fails the gate: low, medium, high or critical")
	fl.StringVar(&g.Unknown, "unknown-severity", "fail", "how findings of unknown severity are gated: fail (they count whatever the threshold), pass, or a level they count as (low, medium, high, critical)")
	fl.BoolVar(&g.FailOn, "fail-on-issues", true, "exit 1 when findings meet the threshold (false: report and pass)")
	fl.BoolVar(&g.ReportAll, "report-all", false, "keep findings below the threshold in the reports, marked, without failing on them")
	fl.BoolVar(&g.AllowInc, "allow-incomplete", false, "let a scan that could not analyse everything (listed in the reports) pass on its findings; by default it fails (exit 3)")
	fl.StringVar(&g.Config, "config", "", "config file with ignore entries and rule settings (default ./"+config.FileName+" when present)")
	fl.StringSliceVar(&g.VEX, "vex", nil, "OpenVEX document(s): not_affected and fixed statements suppress findings")
	fl.StringSliceVar(&g.Baseline, "baseline", nil, "an earlier JSON report (imagegate scan -f json, e.g. the default branch's): findings already in it do not gate, new ones do; reports say which are new and which are fixed. Scanning several images, one report per image (comma-separated or repeated), each matched by the image it names")
	fl.StringVar(&g.Reach, "reachability", policy.ReachGate, "Go binaries: gate (findings whose vulnerable code the binary does not link are set aside, not gating, and counted in the verdict), report (marked only) or off")
	fl.StringVarP(&g.Format, "format", "f", "table", "report format on stdout: "+strings.Join(output.Formats(), ", "))
	fl.StringArrayVarP(&g.Outputs, "output", "o", nil, "write a report to a file, atomically: FORMAT=FILE (repeatable), or FILE in --format")
	fl.StringVar(&g.Category, "sarif-category", "", "SARIF automation category (default: from the image name or Dockerfile path)")
}

// Prepare checks the gate flags before any work and returns the policy and the config.
func (g *Gate) Prepare() (*policy.Policy, *config.Config, error) {
	if err := output.CheckFormat(g.Format); err != nil {
		return nil, nil, failure.Inputf("--format: %w", err)
	}
	sev, err := report.ParseSeverity(g.Threshold)
	if err != nil || sev == report.Unknown {
		return nil, nil, failure.Inputf("--severity-threshold %q: want low, medium, high or critical", g.Threshold)
	}
	unknown, err := policy.ParseUnknown(g.Unknown)
	if err != nil {
		return nil, nil, failure.Inputf("--%w", err)
	}
	g.Specs = nil
	for _, o := range g.Outputs {
		sp, err := output.ParseSpec(o, g.Format)
		if err != nil {
			return nil, nil, err
		}
		g.Specs = append(g.Specs, sp)
	}
	cfg, err := config.Load(g.Config)
	if err != nil {
		return nil, nil, err
	}
	reach, err := policy.ParseReachability(g.Reach)
	if err != nil {
		return nil, nil, failure.WithSetting(failure.Inputf("--%w", err), "reachability")
	}
	p := &policy.Policy{Threshold: sev, Unknown: unknown, FailOnIssues: g.FailOn, ReportAll: g.ReportAll, AllowIncomplete: g.AllowInc, Reachability: reach}
	for _, path := range g.VEX {
		doc, err := policy.LoadVEX(path)
		if err != nil {
			return nil, nil, err
		}
		p.VEX = append(p.VEX, doc)
	}
	for _, path := range g.Baseline {
		b, err := policy.LoadBaseline(path)
		if err != nil {
			return nil, nil, err
		}
		p.Baselines = append(p.Baselines, b)
	}
	return p, cfg, nil
}

// Image are the flags of every command that reads an image: where it is, how to log in,
// and the limits on reading it.
type Image struct {
	Platform string
	Username string
	Password string
	// CredentialsFor are more registries Username and Password are for.
	CredentialsFor []string
	Insecure       bool
	Sources        []string
	MaxFile        int64
	MaxExpand      int64
	MaxFiles       int
	MaxKept        int64
}

// Register adds the image flags to fl.
func (f *Image) Register(fl *pflag.FlagSet) {
	fl.StringVar(&f.Platform, "platform", "", "platform to pick from a multi-platform image, os/arch[/variant] (default linux/amd64), or all: every platform of the index, a result each")
	fl.StringVar(&f.Username, "username", "", "registry username (or IMAGEGATE_USERNAME)")
	fl.StringVar(&f.Password, "password", "", "registry password or token (or IMAGEGATE_PASSWORD)")
	fl.StringSliceVar(&f.CredentialsFor, "credentials-for", nil, "more registries (host[:port]) --username and --password are for; by default only the scanned image's registry (or the registries a registry scan names) gets them, never one an image or a Dockerfile points at")
	fl.BoolVar(&f.Insecure, "insecure-registry", false, "allow plain HTTP to the registries named here (the image's, --base-image's, --credentials-for hosts), never to one an image points at")
	fl.StringSliceVar(&f.Sources, "image-source", image.DefaultSources, "where to look for an IMAGE given as a name, in order: "+strings.Join(image.AllSources, ", "))
	fl.Int64Var(&f.MaxFile, "max-file-size", 0, "largest file read into memory, in bytes (default 128 MiB)")
	fl.Int64Var(&f.MaxExpand, "max-layer-expansion", image.DefaultMaxExpansion, "stop on a layer that expands to more than this many times its stored size (past 1 GiB): a decompression bomb")
	fl.IntVar(&f.MaxFiles, "max-layer-files", image.DefaultMaxFilesPerLayer, "stop on a layer with more entries than this")
	fl.Int64Var(&f.MaxKept, "max-retained-bytes", image.DefaultMaxRetained, "stop when the files kept for analysis (package databases, manifests) add up to more than this (past 8 MiB they wait in a temporary file)")
}

// Request is the scan request these flags make for the images given (Image is set when
// there is one; scanner.ScanImages sets it per image); the credentials are for the
// registries of all of them, and fall back to the IMAGEGATE_USERNAME and
// IMAGEGATE_PASSWORD environment variables.
func (f *Image) Request(images ...string) (scanner.Request, error) {
	user, pass := f.Username, f.Password
	if user == "" {
		user = os.Getenv("IMAGEGATE_USERNAME")
	}
	if pass == "" {
		pass = os.Getenv("IMAGEGATE_PASSWORD")
	}
	if err := image.CheckSources(f.Sources); err != nil {
		return scanner.Request{}, err
	}
	var regs []string
	for _, h := range f.CredentialsFor {
		r, err := name.NewRegistry(h)
		if err != nil {
			return scanner.Request{}, failure.WithSetting(failure.Inputf("--credentials-for %q: not a registry host[:port]: %v", h, err), "credentials-for")
		}
		regs = append(regs, r.RegistryStr()) // as references spell it: docker.io is index.docker.io
	}
	imageArg := ""
	if len(images) == 1 {
		imageArg = images[0]
	}
	for _, img := range images {
		regs = named(regs, img)
	}
	return scanner.Request{
		Image:    imageArg,
		Registry: scanner.Registry{Platform: f.Platform, Username: user, Password: pass, CredentialsFor: regs, Insecure: f.Insecure, Sources: f.Sources},
		Limits:   scanner.Limits{MaxFileSize: f.MaxFile, MaxLayerExpansion: f.MaxExpand, MaxLayerFiles: f.MaxFiles, MaxRetained: f.MaxKept},
	}, nil
}

// named adds the registry of an image the user gave (if it is in a registry) to the
// registries the credentials and --insecure-registry are for.
func named(registries []string, imageArg string) []string {
	if r := image.RegistryOf(imageArg); r != "" {
		return append(append([]string(nil), registries...), r)
	}
	return registries
}

// Scan are the flags of 'imagegate scan'.
type Scan struct {
	Gate
	Image
	MaxSecret  int64
	Scanners   []string
	DB         string
	DBMaxAge   time.Duration
	DBTrust    Trust
	Unfixed    bool
	ExclBase   bool
	BaseImage  string
	Resolve    bool
	Dockerfile string
	ContextDir string
	SBOM       string
}

// Register adds every scan flag to fl.
func (f *Scan) Register(fl *pflag.FlagSet) {
	f.Gate.Register(fl)
	f.Image.Register(fl)
	fl.Int64Var(&f.MaxSecret, "max-secret-bytes", secrets.DefaultMaxBytes, "most text the secret scan reads in one image; past it files are skipped with a warning")
	fl.StringSliceVar(&f.Scanners, "scanners", nil, "checks to run: "+strings.Join(scanner.AllScanners, ", ")+" (default: all)")
	fl.StringVar(&f.DB, "db", "", "vulnerability database folder, or a folder of OSV all.zip files (default $IMAGEGATE_DB or the user cache)")
	fl.DurationVar(&f.DBMaxAge, "db-max-age", scanner.DefaultDBMaxAge, "warn when the vulnerability data is older than this")
	f.DBTrust.Register(fl, "db-", "insecure-unsigned-db", "a database artifact (--db oci://REF)")
	fl.BoolVar(&f.Unfixed, "ignore-unfixed", false, "drop vulnerabilities that have no fixed version")
	fl.BoolVar(&f.ExclBase, "exclude-base", false, "leave out findings that come from the base image's layers")
	fl.StringVar(&f.BaseImage, "base-image", "", "the base image (registry reference): tells its layers apart and reports when its tag has moved on")
	fl.BoolVar(&f.Resolve, "resolve-base", false, "look up the Dockerfile's FROM (or the base.name annotation) in the registry, as --base-image does")
	fl.BoolVar(&f.ListPkgs, "list-packages", false, "table format: list every package, not only counts")
	fl.StringVar(&f.Dockerfile, "dockerfile", "", "also check this Dockerfile against the Dockerfile rules")
	fl.StringVar(&f.ContextDir, "context", "", "build context folder of the Dockerfile (checks .dockerignore against its files)")
	fl.StringVar(&f.SBOM, "sbom", "", "check a CycloneDX JSON SBOM (from 'imagegate sbom' or another tool) instead of an image")
}

// Request checks the flags and returns the scan request for the images given (see
// Image.Request), with the policy and config.
func (f *Scan) Request(images ...string) (scanner.Request, error) {
	pol, cfg, err := f.Prepare()
	if err != nil {
		return scanner.Request{}, err
	}
	r, err := f.Image.Request(images...)
	if err != nil {
		return scanner.Request{}, err
	}
	r.SBOM, r.Limits.MaxSecretBytes, r.Checks, r.IgnoreUnfixed = f.SBOM, f.MaxSecret, f.Scanners, f.Unfixed
	f.DBTrust.Default(cfg.Trust.DB, cfg.Path+" trust.db")
	v, err := f.DBTrust.Verifier()
	if err != nil {
		return scanner.Request{}, err
	}
	r.Data = scanner.Data{DB: f.DB, Verifier: v, Unsigned: f.DBTrust.Insecure, MaxAge: f.DBMaxAge}
	r.Base = scanner.Base{Image: f.BaseImage, Resolve: f.Resolve, Exclude: f.ExclBase}
	r.Registry.CredentialsFor = named(r.Registry.CredentialsFor, f.BaseImage)
	r.Dockerfile = scanner.Dockerfile{Path: f.Dockerfile, Context: f.ContextDir}
	r.Config, r.Policy = cfg, pol
	return r, nil
}

// Set sets one flag by name, as from a CI input; the error names the input.
func Set(fl *pflag.FlagSet, input, flag, value string) error {
	if err := fl.Set(flag, value); err != nil {
		return failure.Inputf("input %s: %q is not a valid value (%w)", input, value, err)
	}
	return nil
}
