package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/flags"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/reporters/visible"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/attach"
	"github.com/imagegate/imagegate/trust"
)

// sbomHelp is the long help of sbom.
const sbomHelp = `Write the image's OS and language packages as a CycloneDX 1.6 JSON SBOM: each package with
its purl, ecosystem, the layer that added it, its locations in the image and whether an OS
package owns it; the image (name, digest, platform, OS) and its base/app layer split in
the metadata. 'imagegate scan --sbom FILE' checks the SBOM later against fresh data.

IMAGE takes the same forms as in 'imagegate scan'.`

func newSBOMCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		format, out string
		img         flags.Image
		attachIt    bool
		signing     flags.Signing
	)
	cmd := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "List an image's packages as a CycloneDX SBOM",
		Long:  sbomHelp,
		Example: `  imagegate sbom alpine:3.20 -o alpine.cdx.json
  imagegate sbom docker-archive:app.tar > app.cdx.json
  imagegate sbom ghcr.io/org/app:1.2 --attach
  imagegate sbom ghcr.io/org/app:1.2 --attach --sign --key cosign.key
  imagegate sbom ghcr.io/org/app:1.2 --attach --sign     # keyless, in GitHub Actions`,
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
			if (signing.Sign || signing.Key != "") && !attachIt {
				return failure.Inputf("--sign takes --attach: the signed SBOM is attached to the image")
			}
			signer, err := signing.Signer(cmd.Context())
			if err != nil {
				return err
			}
			req, err := img.Request(args[0])
			if err != nil {
				return err
			}
			req.Checks = []string{scanner.ScannerNone}
			core := scanner.New()
			defer scanner.LimitMemory()()
			res, err := core.Scan(cmd.Context(), req)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(stderr, "imagegate: warning: %s\n", visible.String(w))
			}
			render := func(w io.Writer) error { return output.Render(w, "cyclonedx", res, output.Options{}) }
			if out != "" {
				if err := output.WriteFile(out, render); err != nil {
					return err
				}
			}
			if !attachIt {
				if out != "" {
					return nil
				}
				return render(stdout)
			}
			var doc bytes.Buffer
			if err := render(&doc); err != nil {
				return err
			}
			ref, err := attachSBOM(cmd.Context(), res, doc.Bytes(), signer, core, req)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, ref)
			return err
		}),
	}
	fl := cmd.Flags()
	fl.StringVarP(&format, "format", "f", "cyclonedx-json", "SBOM format: cyclonedx-json")
	fl.StringVarP(&out, "output", "o", "", "write the SBOM to this file, atomically (default stdout)")
	signing.Register(fl, "the attached SBOM (with --attach: an in-toto statement about the image's digest in a Sigstore bundle, as 'cosign attest --type cyclonedx' makes; 'cosign verify-attestation' accepts it; 'imagegate rescan' believes only signed SBOMs)")
	fl.BoolVar(&attachIt, "attach", false, "push the SBOM to the registry as an OCI artifact that refers to the image (referrers API, or the referrers tag schema where the registry lacks it), and print its reference; 'imagegate rescan' re-checks it")
	img.Register(fl)
	return cmd
}

// attachSBOM pushes doc beside the registry image res scanned (with the scan's registry
// settings): signed by signer as an attestation (cosign's format), or plain when signer is
// nil. It returns the reference of what it pushed.
func attachSBOM(ctx context.Context, res *report.Result, doc []byte, signer trust.Signer, core *scanner.Scanner, req scanner.Request) (string, error) {
	opts := core.ImageOptions(req)
	if res.Image == nil || res.Image.Transport != report.TransportRegistry || res.Image.Digest == "" || res.Image.Repository == "" {
		return "", failure.Inputf("--attach: the SBOM is attached to an image in a registry; %s is not one", req.Image)
	}
	subject := res.Image.Repository + "@" + res.Image.Digest
	var dg string
	var err error
	if signer != nil {
		// Signed: an in-toto statement about the image's digest with the SBOM as its
		// predicate, in a Sigstore bundle, attached as cosign attaches attestations.
		bundle, serr := trust.Attest(ctx, signer, trust.Subject{Name: res.Image.Repository, Digest: res.Image.Digest}, trust.CycloneDXPredicate, doc)
		if serr != nil {
			return "", failure.Incompletef("signing the SBOM: %w", serr)
		}
		dg, err = attach.PushAttestation(ctx, subject, bundle, trust.CycloneDXPredicate, time.Now(), opts...)
	} else {
		dg, err = attach.Push(ctx, subject, doc, time.Now(), "imagegate "+version(), opts...)
	}
	if err != nil {
		return "", err
	}
	return res.Image.Repository + "@" + dg, nil
}
