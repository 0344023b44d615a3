package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/imagegate/imagegate/internal/scanflags"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/reporters/visible"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/failure"
)

func newSBOMCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		format, out string
		img         scanflags.Image
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
			opts, err := img.Options(args[0])
			if err != nil {
				return err
			}
			opts.Scanners = []string{scanner.ScannerNone}
			res, err := scanner.Scan(cmd.Context(), opts)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(stderr, "imagegate: warning: %s\n", visible.String(w))
			}
			render := func(w io.Writer) error { return output.Render(w, "cyclonedx", res, output.Options{}) }
			if out != "" {
				return output.WriteFile(out, render)
			}
			return render(stdout)
		}),
	}
	fl := cmd.Flags()
	fl.StringVarP(&format, "format", "f", "cyclonedx-json", "SBOM format: cyclonedx-json")
	fl.StringVarP(&out, "output", "o", "", "write the SBOM to this file, atomically (default stdout)")
	img.Register(fl)
	return cmd
}
