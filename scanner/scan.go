// Package scanner is imagegate's core: Scan opens an image, walks its layers once and
// runs every analyzer over the result. Front ends (CLI, GitHub Action, Azure DevOps task)
// only build Options and hand the Result to reporters.
package scanner

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/finding"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/inventory"
	"github.com/imagegate/imagegate/scanner/match"
	"github.com/imagegate/imagegate/scanner/vulndb"
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

	// Scanners selects the checks to run (default: all); see AllScanners.
	Scanners []string
	// DB is the vulnerability database: a folder made by 'imagegate db update' or
	// 'imagegate db import', or a folder of OSV export zips (default: vulndb.DefaultDir()).
	DB string
	// DBMaxAge is the age past which the data is reported as stale (0: 7 days).
	DBMaxAge time.Duration
	// IgnoreUnfixed drops vulnerabilities without a fixed version.
	IgnoreUnfixed bool

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

// Scanner names.
const (
	ScannerVuln = "vuln"
)

// AllScanners lists the checks Scan can run.
var AllScanners = []string{ScannerVuln}

// DefaultDBMaxAge is the age past which vulnerability data is reported as stale.
const DefaultDBMaxAge = 7 * 24 * time.Hour

// DataSource describes the vulnerability data a scan used.
type DataSource struct {
	Ecosystem string    `json:"ecosystem"`
	Records   int       `json:"records"`
	Source    string    `json:"source"`
	Updated   time.Time `json:"updated"`
}

// Result is what a scan found.
type Result struct {
	Image    ImageInfo           `json:"image"`
	OS       *inventory.OS       `json:"os,omitempty"`
	Layers   []image.Layer       `json:"layers"`
	Packages []inventory.Package `json:"packages"`
	Findings []finding.Finding   `json:"findings"`
	// Data lists the vulnerability data used, per ecosystem that was looked up.
	Data     []DataSource `json:"data,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
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
	scanners, err := selectScanners(opts.Scanners)
	if err != nil {
		return nil, err
	}
	// Open the database before the image: a missing database fails fast.
	var store *vulndb.Store
	if scanners[ScannerVuln] {
		dbPath := opts.DB
		if dbPath == "" {
			dbPath = vulndb.DefaultDir()
		}
		if store, err = vulndb.OpenPath(ctx, dbPath); err != nil {
			return nil, err
		}
		defer store.Close()
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
	idx, err := image.Walk(ctx, img, inv, append(walkOpts, image.WithConsumer(inv))...)
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
		Findings: []finding.Finding{},
	}
	res.Warnings = append(res.Warnings, idx.Warnings()...)
	res.Warnings = append(res.Warnings, pkgs.Warnings...)
	if store != nil {
		if err := matchVulnerabilities(ctx, store, opts, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func selectScanners(names []string) (map[string]bool, error) {
	if len(names) == 0 {
		names = AllScanners
	}
	set := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !slices.Contains(AllScanners, n) {
			return nil, failure.Inputf("unknown scanner %q: want %s", n, strings.Join(AllScanners, ", "))
		}
		set[n] = true
	}
	return set, nil
}

func matchVulnerabilities(ctx context.Context, store *vulndb.Store, opts Options, res *Result) error {
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
		res.Data = append(res.Data, DataSource{Ecosystem: info.Ecosystem, Records: info.Records, Source: info.Source, Updated: info.Updated})
		if age := time.Since(info.Updated); age > maxAge {
			res.Warnings = append(res.Warnings, fmt.Sprintf("vulnerability data for %s is %d days old (last updated %s): run 'imagegate db update'",
				info.Ecosystem, int(age.Hours()/24), info.Updated.Format("2006-01-02")))
		}
	}
	for _, eco := range slices.Sorted(maps.Keys(m.Unchecked)) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("no vulnerability data for %s: %d packages not checked (run 'imagegate db update --ecosystems %s')", eco, m.Unchecked[eco], eco))
	}
	return nil
}

// Version is imagegate's version, set at build time with
// -ldflags "-X github.com/imagegate/imagegate/scanner.Version=v1.2.3".
var Version = "dev"
