package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/finding"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/imagecheck"
	"github.com/imagegate/imagegate/scanner/policy"
)

// gateFlags are the flags scan and lint share: the policy, the config and the reports.
type gateFlags struct {
	threshold string
	failOn    bool
	reportAll bool
	config    string
	vex       []string
	format    string
	outputs   []string
	category  string
	listPkgs  bool

	specs []output.Spec
}

func (g *gateFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&g.threshold, "severity-threshold", "low", "lowest severity that fails the gate: low, medium, high or critical")
	fl.BoolVar(&g.failOn, "fail-on-issues", true, "exit 1 when findings meet the threshold (false: report and pass)")
	fl.BoolVar(&g.reportAll, "report-all", false, "keep findings below the threshold in the reports, marked, without failing on them")
	fl.StringVar(&g.config, "config", "", "config file with ignore entries and rule settings (default ./"+config.FileName+" when present)")
	fl.StringSliceVar(&g.vex, "vex", nil, "OpenVEX document(s): not_affected and fixed statements suppress findings")
	fl.StringVarP(&g.format, "format", "f", "table", "report format on stdout: "+strings.Join(output.Formats(), ", "))
	fl.StringArrayVarP(&g.outputs, "output", "o", nil, "write a report to a file, atomically: FORMAT=FILE (repeatable), or FILE in --format")
	fl.StringVar(&g.category, "sarif-category", "", "SARIF automation category (default: from the image name or Dockerfile path)")
}

// prepare checks the gate flags before any work and returns the policy and the config.
func (g *gateFlags) prepare() (*policy.Policy, *config.Config, error) {
	if err := output.CheckFormat(g.format); err != nil {
		return nil, nil, fmt.Errorf("--format: %w", err)
	}
	sev, err := finding.ParseSeverity(g.threshold)
	if err != nil || sev == finding.Unknown {
		return nil, nil, failure.Inputf("--severity-threshold %q: want low, medium, high or critical", g.threshold)
	}
	g.specs = nil
	for _, o := range g.outputs {
		sp, err := output.ParseSpec(o, g.format)
		if err != nil {
			return nil, nil, err
		}
		g.specs = append(g.specs, sp)
	}
	cfg, err := config.Load(g.config)
	if err != nil {
		return nil, nil, err
	}
	p := &policy.Policy{Threshold: sev, FailOnIssues: g.failOn, ReportAll: g.reportAll}
	for _, path := range g.vex {
		doc, err := policy.LoadVEX(path)
		if err != nil {
			return nil, nil, err
		}
		p.VEX = append(p.VEX, doc)
	}
	return p, cfg, nil
}

// finish prints warnings, writes the reports and turns a failed verdict into exit 1.
// Without --output the --format report goes to stdout; with only FORMAT=FILE outputs,
// stdout still gets the --format report when --format was given explicitly or is table.
func (g *gateFlags) finish(res *scanner.Result, stdout, stderr io.Writer) error {
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "imagegate: warning: %s\n", w)
	}
	opts := output.Options{Packages: g.listPkgs, SARIFCategory: g.category}
	toStdout := true
	for _, sp := range g.specs {
		if sp.Format == g.format {
			toStdout = false // `-o report.json -f json`: the file replaces stdout
		}
	}
	for _, sp := range g.specs {
		if err := output.WriteFile(sp.Path, func(w io.Writer) error { return output.Render(w, sp.Format, res, opts) }); err != nil {
			return err
		}
	}
	if toStdout {
		o := opts
		o.Color = isTerminal(stdout)
		if err := output.Render(stdout, g.format, res, o); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	if !res.Verdict.Pass {
		return &gateError{}
	}
	return nil
}

// imageFlags are the flags of every command that reads an image: where it is, how to
// log in, and the limits on reading it.
type imageFlags struct {
	platform  string
	username  string
	password  string
	insecure  bool
	maxFile   int64
	maxExpand int64
	maxFiles  int
}

func (f *imageFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.platform, "platform", "", "platform to pick from a multi-platform image, os/arch[/variant] (default linux/amd64)")
	fl.StringVar(&f.username, "username", "", "registry username (or IMAGEGATE_USERNAME)")
	fl.StringVar(&f.password, "password", "", "registry password or token (or IMAGEGATE_PASSWORD)")
	fl.BoolVar(&f.insecure, "insecure-registry", false, "allow a plain-HTTP registry")
	fl.Int64Var(&f.maxFile, "max-file-size", 0, "largest file read into memory, in bytes (default 128 MiB)")
	fl.Int64Var(&f.maxExpand, "max-layer-expansion", image.DefaultMaxExpansion, "stop on a layer that expands to more than this many times its stored size (past 1 GiB): a decompression bomb")
	fl.IntVar(&f.maxFiles, "max-layer-files", image.DefaultMaxFilesPerLayer, "stop on a layer with more entries than this")
}

// options are the scan options these flags set; credentials fall back to the
// IMAGEGATE_USERNAME and IMAGEGATE_PASSWORD environment variables.
func (f *imageFlags) options(imageArg string) scanner.Options {
	user, pass := f.username, f.password
	if user == "" {
		user = os.Getenv("IMAGEGATE_USERNAME")
	}
	if pass == "" {
		pass = os.Getenv("IMAGEGATE_PASSWORD")
	}
	return scanner.Options{
		Image: imageArg, Platform: f.platform, Username: user, Password: pass, Insecure: f.insecure,
		MaxFileSize: f.maxFile, MaxLayerExpansion: f.maxExpand, MaxLayerFiles: f.maxFiles,
	}
}

type scanFlags struct {
	gateFlags
	imageFlags
	maxSecret  int64
	scanners   []string
	db         string
	dbMaxAge   time.Duration
	unfixed    bool
	exclBase   bool
	baseImage  string
	resolve    bool
	dockerfile string
	contextDir string
	sbom       string
}

func newScanCmd(stdout, stderr io.Writer) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Scan a container image (and its Dockerfile)",
		Long: `Scan a container image: list every OS and language package with the layer it came from,
match them against OSV vulnerability data, check the Dockerfile when one is given, and
gate on what is found.

IMAGE is one of:
  nginx:1.25, ghcr.io/org/app@sha256:...   a registry reference (pulled without a daemon)
  docker-archive:PATH                      a 'docker save' tar
  oci-archive:PATH                         an OCI layout inside a tar
  oci-dir:PATH                             an OCI layout folder
  docker-daemon:NAME                       an image in the local Docker daemon
  PATH                                     a file or folder, recognised by its content

Exit codes: 0 pass, 1 findings at or above the threshold, 2 usage or input error,
3 the scan could not complete.`,
		Example: `  imagegate scan alpine:3.20
  imagegate scan docker-archive:app.tar --dockerfile Dockerfile --severity-threshold high
  imagegate scan --platform linux/arm64 ghcr.io/org/app:1.2 --format json --output report.json
  imagegate scan --sbom app.cdx.json --severity-threshold high`,
		Args: func(_ *cobra.Command, args []string) error {
			if f.sbom != "" {
				if len(args) != 0 {
					return failure.Inputf("scan --sbom takes no IMAGE argument, got %d", len(args))
				}
				return nil
			}
			if len(args) != 1 {
				return failure.Inputf("scan takes exactly one IMAGE argument, got %d", len(args))
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			imageArg := ""
			if len(args) == 1 {
				imageArg = args[0]
			}
			pol, cfg, err := f.prepare()
			if err != nil {
				return err
			}
			opts := f.imageFlags.options(imageArg)
			opts.SBOM, opts.MaxSecretBytes = f.sbom, f.maxSecret
			opts.Scanners, opts.DB, opts.DBMaxAge, opts.IgnoreUnfixed = f.scanners, f.db, f.dbMaxAge, f.unfixed
			opts.ExcludeBase, opts.BaseImage, opts.ResolveBase = f.exclBase, f.baseImage, f.resolve
			opts.Dockerfile, opts.ContextDir, opts.Config, opts.Policy = f.dockerfile, f.contextDir, cfg, pol
			res, err := scanner.Scan(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return f.finish(res, stdout, stderr)
		}),
	}
	fl := cmd.Flags()
	f.gateFlags.register(fl)
	f.imageFlags.register(fl)
	fl.Int64Var(&f.maxSecret, "max-secret-bytes", imagecheck.DefaultMaxSecretBytes, "most text the secret scan reads in one image; past it files are skipped with a warning")
	fl.StringSliceVar(&f.scanners, "scanners", nil, "checks to run: vuln, dockerfile, config, secret (default: all)")
	fl.StringVar(&f.db, "db", "", "vulnerability database folder, or a folder of OSV all.zip files (default $IMAGEGATE_DB or the user cache)")
	fl.DurationVar(&f.dbMaxAge, "db-max-age", scanner.DefaultDBMaxAge, "warn when the vulnerability data is older than this")
	fl.BoolVar(&f.unfixed, "ignore-unfixed", false, "drop vulnerabilities that have no fixed version")
	fl.BoolVar(&f.exclBase, "exclude-base", false, "leave out findings that come from the base image's layers")
	fl.StringVar(&f.baseImage, "base-image", "", "the base image (registry reference): tells its layers apart and reports when its tag has moved on")
	fl.BoolVar(&f.resolve, "resolve-base", false, "look up the Dockerfile's FROM (or the base.name annotation) in the registry, as --base-image does")
	fl.BoolVar(&f.listPkgs, "list-packages", false, "table format: list every package, not only counts")
	fl.StringVar(&f.dockerfile, "dockerfile", "", "also check this Dockerfile against the Dockerfile rules")
	fl.StringVar(&f.contextDir, "context", "", "build context folder of the Dockerfile (checks .dockerignore against its files)")
	fl.StringVar(&f.sbom, "sbom", "", "check a CycloneDX JSON SBOM (from 'imagegate sbom' or another tool) instead of an image")
	return cmd
}

func newLintCmd(stdout, stderr io.Writer) *cobra.Command {
	var f gateFlags
	var contextDir string
	cmd := &cobra.Command{
		Use:   "lint DOCKERFILE",
		Short: "Check a Dockerfile against the best-practice rules",
		Long: `Check a Dockerfile against imagegate's rules (docs/rules.md): non-root USER, pinned base
images, COPY over ADD, no secrets in ENV or ARG, .dockerignore, package pinning and
cleanup, and the rest of what hadolint users expect. Findings carry their line.

Silence a rule on one instruction with a comment on the line above it:
  # imagegate ignore=DF017,DF018    (hadolint's "# hadolint ignore=DL3008" works too)
and for the whole project in .imagegate.yaml:
  dockerfile:
    disable: [DF003]
    severity: {DF017: medium}`,
		Example: `  imagegate lint Dockerfile
  imagegate lint build/Dockerfile --context . --severity-threshold medium`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return failure.Inputf("lint takes exactly one DOCKERFILE argument, got %d", len(args))
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			pol, cfg, err := f.prepare()
			if err != nil {
				return err
			}
			res, err := scanner.Scan(cmd.Context(), scanner.Options{
				Dockerfile: args[0],
				ContextDir: contextDir,
				Config:     cfg,
				Policy:     pol,
			})
			if err != nil {
				return err
			}
			return f.finish(res, stdout, stderr)
		}),
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&contextDir, "context", "", "build context folder (checks .dockerignore against its files)")
	return cmd
}

func isTerminal(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
