// Package scanner is imagegate's core: Scan opens an image, walks its layers once and
// runs every analyzer over the result. Front ends (CLI, GitHub Action, Azure DevOps task)
// only build Options and hand the Result to reporters.
package scanner

import (
	"context"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/inventory"
)

// Options is everything a scan needs; every front end builds one.
type Options struct {
	// Image is the image argument: a registry reference, docker-archive:PATH,
	// oci-archive:PATH, oci-dir:PATH, docker-daemon:NAME or a bare path.
	Image string
	// Platform picks os/arch[/variant] from a multi-platform index (default linux/amd64).
	Platform string
	// Username and Password authenticate to the registry; when empty, the default keychain
	// (docker config.json, credential helpers) is used.
	Username, Password string
	// Insecure allows plain-HTTP registries.
	Insecure bool
	// MaxFileSize bounds the bytes kept in memory for one file (0: the default).
	MaxFileSize int64

	// Keychain and Transport replace the defaults (tests, embedding).
	Keychain  authn.Keychain
	Transport http.RoundTripper
}

// ImageInfo says which image was scanned.
type ImageInfo struct {
	Name        string `json:"name"`
	Transport   string `json:"transport"`
	Digest      string `json:"digest,omitempty"`
	IndexDigest string `json:"indexDigest,omitempty"`
	ID          string `json:"id"`
	Platform    string `json:"platform,omitempty"`
}

// Result is what a scan found.
type Result struct {
	Image    ImageInfo           `json:"image"`
	OS       *inventory.OS       `json:"os,omitempty"`
	Layers   []image.Layer       `json:"layers"`
	Packages []inventory.Package `json:"packages"`
	Warnings []string            `json:"warnings,omitempty"`
}

// Scan opens the image, walks its layers once and inventories it.
func Scan(ctx context.Context, opts Options) (*Result, error) {
	openOpts := []image.Option{
		image.WithPlatform(opts.Platform),
		image.WithBasicAuth(opts.Username, opts.Password),
		image.WithInsecure(opts.Insecure),
	}
	if opts.Keychain != nil {
		openOpts = append(openOpts, image.WithKeychain(opts.Keychain))
	}
	if opts.Transport != nil {
		openOpts = append(openOpts, image.WithTransport(opts.Transport))
	}
	img, err := image.Open(ctx, opts.Image, openOpts...)
	if err != nil {
		return nil, err
	}
	inv, err := inventory.New()
	if err != nil {
		return nil, err
	}
	var walkOpts []image.WalkOption
	if opts.MaxFileSize > 0 {
		walkOpts = append(walkOpts, image.WithMaxFileSize(opts.MaxFileSize))
	}
	idx, err := image.Walk(ctx, img, inv, walkOpts...)
	if err != nil {
		return nil, err
	}
	pkgs, err := inv.Analyze(ctx, idx)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Image: ImageInfo{
			Name:        img.Name,
			Transport:   string(img.Transport),
			Digest:      img.Digest,
			IndexDigest: img.IndexDigest,
			ID:          img.ID,
			Platform:    img.Platform,
		},
		OS:       pkgs.OS,
		Layers:   idx.Layers,
		Packages: pkgs.Packages,
	}
	res.Warnings = append(res.Warnings, idx.Warnings()...)
	res.Warnings = append(res.Warnings, pkgs.Warnings...)
	return res, nil
}

// Version is imagegate's version, set at build time with
// -ldflags "-X github.com/imagegate/imagegate/scanner.Version=v1.2.3".
var Version = "dev"
