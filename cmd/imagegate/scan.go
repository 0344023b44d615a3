package main

import (
	"fmt"
	"io"
	"os"

	"github.com/imagegate/imagegate/report"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/flags"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/reporters/visible"
	"github.com/imagegate/imagegate/scanner"
)

// finish prints warnings, writes the reports and turns a failed verdict into exit 1.
// Without --output the --format report goes to stdout; with only FORMAT=FILE outputs,
// stdout still gets the --format report when --format was given explicitly or is table.
// images are the image arguments of a scan of several (nil for one).
func finish(g *flags.Gate, images []string, rs []*report.Result, stdout, stderr io.Writer) error {
	for i, res := range rs {
		prefix := ""
		if len(rs) > 1 {
			prefix = images[i] + ": "
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "imagegate: warning: %s%s\n", prefix, visible.String(w))
		}
		for _, w := range res.Incomplete {
			fmt.Fprintf(stderr, "imagegate: not analysed: %s%s\n", prefix, visible.String(w))
		}
	}
	opts := output.Options{Packages: g.ListPkgs, SARIFCategory: g.Category}
	toStdout := true
	for _, sp := range g.Specs {
		if sp.Format == g.Format {
			toStdout = false // `-o report.json -f json`: the file replaces stdout
		}
	}
	for _, sp := range g.Specs {
		if err := output.WriteAll(sp, images, rs, opts); err != nil {
			return err
		}
	}
	if toStdout {
		o := opts
		o.Color = isTerminal(stdout)
		if err := output.Buffered(stdout, func(w io.Writer) error { return output.RenderAll(w, g.Format, rs, o) }); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	incomplete := 0
	for _, res := range rs {
		incomplete += res.Verdict.Incomplete
	}
	switch output.Overall(rs) {
	case report.FailedIncomplete:
		return failure.Incompletef("the scan did not analyse everything (%d items, listed above and in the reports): the gate fails closed; --allow-incomplete lets it decide on the findings alone", incomplete)
	case report.FailedOnFindings:
		return &gateError{}
	}
	return nil
}

func newScanCmd(stdout, stderr io.Writer) *cobra.Command {
	var f flags.Scan
	cmd := &cobra.Command{
		Use:   "scan IMAGE...",
		Short: "Scan container images (and their Dockerfile)",
		Long: `Scan a container image: list every OS and language package with the layer it came from,
match them against OSV vulnerability data, check the Dockerfile when one is given, and
gate on what is found.

IMAGE is one of:
  app:ci, nginx:1.25, ghcr.io/org/app@sha256:...
                                           a name: read from the local Docker daemon when
                                           it has the image, else from the registry
                                           (--image-source sets the order)
  docker-archive:PATH[@REPO:TAG]           a 'docker save' tar (one holding several images
                                           needs @REPO:TAG to name the one to scan)
  oci-archive:PATH                         an OCI layout inside a tar
  oci-dir:PATH                             an OCI layout folder
  docker-daemon:NAME                       an image in the local Docker daemon
  PATH                                     a file or folder, recognised by its content

Several images are scanned in one run, the vulnerability data opened once: one combined
verdict and exit code, table and Markdown a section per image, SARIF a run per image (its
own category), and JSON, JUnit and CycloneDX a document per image (-o FORMAT=FILE writes
FILE-<image>.ext for each; --baseline takes one report per image). --platform all scans
every platform of a multi-platform index the same way, a result per platform.

Exit codes: 0 pass, 1 findings at or above the threshold, 2 usage or input error,
3 the scan could not complete.`,
		Example: `  imagegate scan alpine:3.20
  imagegate scan docker-archive:app.tar --dockerfile Dockerfile --severity-threshold high
  imagegate scan --platform linux/arm64 ghcr.io/org/app:1.2 --format json --output report.json
  imagegate scan --sbom app.cdx.json --severity-threshold high
  imagegate scan api:ci worker:ci -o sarif=imagegate.sarif -o json=imagegate.json
  imagegate scan --platform all ghcr.io/org/app:1.2   # every platform of the index`,
		Args: func(_ *cobra.Command, args []string) error {
			if f.SBOM != "" {
				if len(args) != 0 {
					return failure.Inputf("scan --sbom takes no IMAGE argument, got %d", len(args))
				}
				return nil
			}
			if len(args) == 0 {
				return failure.Inputf("scan takes one or more IMAGE arguments (or --sbom FILE)")
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			req, err := f.Request(args...)
			if err != nil {
				return err
			}
			defer scanner.LimitMemory()()
			if len(args) == 0 {
				res, err := scanner.New().Scan(cmd.Context(), req)
				if err != nil {
					return err
				}
				return finish(&f.Gate, nil, []*report.Result{res}, stdout, stderr)
			}
			for _, sp := range f.Specs {
				for _, p := range output.Paths(sp, args) {
					if err := output.Check(p); err != nil {
						return err
					}
				}
			}
			rs, labels, err := scanner.New().ScanImages(cmd.Context(), req, args)
			if err != nil {
				return err
			}
			return finish(&f.Gate, labels, rs, stdout, stderr)
		}),
	}
	f.Register(cmd.Flags())
	return cmd
}

func newLintCmd(stdout, stderr io.Writer) *cobra.Command {
	var f flags.Gate
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
			pol, cfg, err := f.Prepare()
			if err != nil {
				return err
			}
			res, err := scanner.New().Scan(cmd.Context(), scanner.Request{
				Dockerfile: scanner.Dockerfile{Path: args[0], Context: contextDir},
				Config:     cfg,
				Policy:     pol,
			})
			if err != nil {
				return err
			}
			return finish(&f, nil, []*report.Result{res}, stdout, stderr)
		}),
	}
	f.Register(cmd.Flags())
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
