package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/failure"
)

func newSBOMCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		format, out, platform, username, password string
		insecure                                  bool
		maxFile                                   int64
	)
	cmd := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "List an image's packages as a CycloneDX SBOM",
		Long: `Write the image's OS and language packages as a CycloneDX 1.6 JSON SBOM: each package with
its purl, ecosystem, the layer that added it, its locations in the image and whether an OS
package owns it; the image (name, digest, platform, OS) and its base/app layer split in
the metadata. 'imagegate scan --sbom FILE' checks the SBOM later against fresh data.

IMAGE takes the same forms as in 'imagegate scan'.`,
		Example: `  imagegate sbom alpine:3.20 -o alpine.cdx.json
  imagegate sbom docker-archive:app.tar > app.cdx.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return failure.Inputf("sbom takes exactly one IMAGE argument, got %d", len(args))
			}
			return nil
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			if format != "cyclonedx-json" && format != "cyclonedx" {
				return failure.Inputf("--format %q: want cyclonedx-json", format)
			}
			if username == "" {
				username = os.Getenv("IMAGEGATE_USERNAME")
			}
			if password == "" {
				password = os.Getenv("IMAGEGATE_PASSWORD")
			}
			res, err := scanner.Scan(cmd.Context(), scanner.Options{
				Image: args[0], Platform: platform, Username: username, Password: password,
				Insecure: insecure, MaxFileSize: maxFile, Scanners: []string{scanner.ScannerNone},
			})
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				cmd.PrintErrf("imagegate: warning: %s\n", w)
			}
			render := func(w io.Writer) error { return output.Render(w, "cyclonedx", res, output.Options{}) }
			if out != "" {
				return output.WriteFile(out, render)
			}
			return render(stdout)
		}),
	}
	cmd.SetErr(stderr)
	fl := cmd.Flags()
	fl.StringVarP(&format, "format", "f", "cyclonedx-json", "SBOM format: cyclonedx-json")
	fl.StringVarP(&out, "output", "o", "", "write the SBOM to this file, atomically (default stdout)")
	fl.StringVar(&platform, "platform", "", "platform to pick from a multi-platform image, os/arch[/variant] (default linux/amd64)")
	fl.StringVar(&username, "username", "", "registry username (or IMAGEGATE_USERNAME)")
	fl.StringVar(&password, "password", "", "registry password or token (or IMAGEGATE_PASSWORD)")
	fl.BoolVar(&insecure, "insecure-registry", false, "allow a plain-HTTP registry")
	fl.Int64Var(&maxFile, "max-file-size", 0, "largest file read into memory, in bytes (default 128 MiB)")
	return cmd
}
