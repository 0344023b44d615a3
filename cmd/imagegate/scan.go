package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	jsonreport "github.com/imagegate/imagegate/reporters/json"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/reporters/table"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/failure"
)

type scanFlags struct {
	platform string
	username string
	password string
	insecure bool
	format   string
	output   string
	maxFile  int64
	scanners []string
	db       string
	dbMaxAge time.Duration
	unfixed  bool
	listPkgs bool
}

func newScanCmd(stdout, stderr io.Writer) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Scan a container image",
		Long: `Scan a container image and list what is installed in it, with the layer each package came from.

IMAGE is one of:
  nginx:1.25, ghcr.io/org/app@sha256:...   a registry reference (pulled without a daemon)
  docker-archive:PATH                      a 'docker save' tar
  oci-archive:PATH                         an OCI layout inside a tar
  oci-dir:PATH                             an OCI layout folder
  docker-daemon:NAME                       an image in the local Docker daemon
  PATH                                     a file or folder, recognised by its content`,
		Example: `  imagegate scan alpine:3.20
  imagegate scan docker-archive:app.tar --format json --output inventory.json
  imagegate scan --platform linux/arm64 ghcr.io/org/app:1.2`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return failure.Inputf("scan takes exactly one IMAGE argument, got %d", len(args))
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			if f.format != "table" && f.format != "json" {
				return failure.Inputf("--format %q: want table or json", f.format)
			}
			if f.output != "" {
				if err := output.Check(f.output); err != nil {
					return err
				}
			}
			if f.username == "" {
				f.username = os.Getenv("IMAGEGATE_USERNAME")
			}
			if f.password == "" {
				f.password = os.Getenv("IMAGEGATE_PASSWORD")
			}
			res, err := scanner.Scan(cmd.Context(), scanner.Options{
				Image:         args[0],
				Platform:      f.platform,
				Username:      f.username,
				Password:      f.password,
				Insecure:      f.insecure,
				MaxFileSize:   f.maxFile,
				Scanners:      f.scanners,
				DB:            f.db,
				DBMaxAge:      f.dbMaxAge,
				IgnoreUnfixed: f.unfixed,
			})
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(stderr, "imagegate: warning: %s\n", w)
			}
			render := func(w io.Writer, color bool) error {
				if f.format == "json" {
					return jsonreport.Write(w, res)
				}
				return table.Write(w, res, table.Options{Color: color, Packages: f.listPkgs})
			}
			if f.output != "" {
				return output.WriteFile(f.output, func(w io.Writer) error { return render(w, false) })
			}
			if err := render(stdout, isTerminal(stdout)); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.platform, "platform", "", "platform to pick from a multi-platform image, os/arch[/variant] (default linux/amd64)")
	fl.StringVar(&f.username, "username", "", "registry username (or IMAGEGATE_USERNAME)")
	fl.StringVar(&f.password, "password", "", "registry password or token (or IMAGEGATE_PASSWORD)")
	fl.BoolVar(&f.insecure, "insecure-registry", false, "allow a plain-HTTP registry")
	fl.StringVarP(&f.format, "format", "f", "table", "report format: table or json")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file (atomically) instead of stdout")
	fl.Int64Var(&f.maxFile, "max-file-size", 0, "largest file read into memory, in bytes (default 128 MiB)")
	fl.StringSliceVar(&f.scanners, "scanners", nil, "checks to run: vuln (default: all)")
	fl.StringVar(&f.db, "db", "", "vulnerability database folder, or a folder of OSV all.zip files (default $IMAGEGATE_DB or the user cache)")
	fl.DurationVar(&f.dbMaxAge, "db-max-age", scanner.DefaultDBMaxAge, "warn when the vulnerability data is older than this")
	fl.BoolVar(&f.unfixed, "ignore-unfixed", false, "drop vulnerabilities that have no fixed version")
	fl.BoolVar(&f.listPkgs, "list-packages", false, "table format: list every package, not only counts")
	return cmd
}

func isTerminal(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
