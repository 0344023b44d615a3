// Package analyzer is the one shape every analysis of an image has, and the one list of
// them a scan runs. The layer walk feeds them all in a single pass: each says which files
// it needs kept (Required) and, when it reads files as they stream by (secrets, binaries),
// it is also an image.Consumer; after the walk each turns what it saw into its part of the
// result.
package analyzer

import (
	"context"
	"fmt"
	"io/fs"
	"runtime/debug"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/imagecheck"
	"github.com/imagegate/imagegate/scanner/inventory"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// Analyzer is one analysis of an image.
type Analyzer interface {
	// Name identifies the analyzer in errors.
	Name() string
	// Required reports whether the walk must keep a file's bytes in the index for it.
	Required(path string, info fs.FileInfo) bool
	// Analyze returns the analyzer's part of the result: OS and packages, findings,
	// warnings, and what it could not analyse (Incomplete).
	Analyze(ctx context.Context, idx *image.Index, cf *v1.ConfigFile) (*report.Result, error)
}

// Options choose the analyzers and bound them.
type Options struct {
	// Config runs the image checks (config, files, accounts); Secrets searches every
	// layer's files for secrets. Packages are always listed.
	Config, Secrets bool
	// MaxSecretBytes bounds the text the secret search reads (0: the default).
	MaxSecretBytes int64
	// MaxFileSize is the walk's bound on one file, given to the package extractors as
	// theirs (0: the walk's default).
	MaxFileSize int64
}

// List returns the analyzers Options asks for, in the order their parts join the result.
func List(d *secrets.Detector, o Options) ([]Analyzer, error) {
	inv, err := inventory.New(o.MaxFileSize)
	if err != nil {
		return nil, err
	}
	list := []Analyzer{inv}
	if o.Config {
		list = append(list, imagecheck.New(d))
	}
	if o.Secrets {
		list = append(list, secrets.NewLayers(d, o.MaxSecretBytes))
	}
	return list, nil
}

// WalkOptions are the walk options that feed the analyzers: every one that reads files as
// they stream by is a consumer.
func WalkOptions(list []Analyzer) (image.Requirers, []image.WalkOption) {
	var req image.Requirers
	var opts []image.WalkOption
	for _, a := range list {
		req = append(req, a)
		if c, ok := a.(image.Consumer); ok {
			opts = append(opts, image.WithConsumer(c))
		}
	}
	return req, opts
}

// Run runs every analyzer over the walked image, at once (the index is read-only to
// them: the image checks' walk of the files runs beside the package extraction), and
// merges their parts into res in the list's order.
func Run(ctx context.Context, list []Analyzer, idx *image.Index, cf *v1.ConfigFile, res *report.Result) error {
	parts := make([]*report.Result, len(list))
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, a := range list {
		wg.Go(func() { parts[i], errs[i] = analyze(ctx, a, idx, cf) })
	}
	wg.Wait()
	for i, part := range parts {
		if errs[i] != nil {
			return errs[i]
		}
		if part.OS != nil {
			res.OS = part.OS
		}
		res.Packages = append(res.Packages, part.Packages...)
		res.Findings = append(res.Findings, part.Findings...)
		res.Warnings = append(res.Warnings, part.Warnings...)
		res.Incomplete = append(res.Incomplete, part.Incomplete...)
	}
	return nil
}

// analyze is a's Analyze in a goroutine of Run's: a panic would end the process from
// there, so it ends the scan with exit 3 instead.
func analyze(ctx context.Context, a Analyzer, idx *image.Index, cf *v1.ConfigFile) (part *report.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			part, err = nil, failure.Incompletef("internal error in the %s analyzer: %v (please report this)", a.Name(), r)
		}
	}()
	return a.Analyze(ctx, idx, cf)
}

// CacheVersion names the analyzers of list and the options that shape their results, and
// the versions of the extractors they use: a layer cached under another version is read
// again.
func CacheVersion(list []Analyzer, o Options) string {
	v := fmt.Sprintf("analyzers/%d", cacheFormat)
	for _, a := range list {
		v += "+" + a.Name()
	}
	v += fmt.Sprintf(";secret-bytes=%d;file=%d", o.MaxSecretBytes, o.MaxFileSize)
	if bi, ok := debug.ReadBuildInfo(); ok {
		v += ";" + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				v += ";" + s.Value
			}
		}
		for _, m := range bi.Deps {
			if m.Path == "github.com/google/osv-scalibr" {
				v += ";scalibr=" + m.Version
			}
		}
	}
	return v
}

// cacheFormat changes whenever an analyzer's results change for the same layer.
const cacheFormat = 5
