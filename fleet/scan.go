package fleet

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
)

// Options are how each image is scanned and where its report goes.
type Options struct {
	// Request is every image's scan request (Image is set per image).
	Request scanner.Request
	// Parallel bounds the images scanned at once (0: 2; each scan reads its layers in
	// parallel too).
	Parallel int
	// Dir is the output folder: each image's JSON report goes to Dir/images/.
	Dir string
	// Scanner gives the core its parts (a keychain, a transport); the run adds the
	// database it opens once and the layer cache.
	Scanner []scanner.Option
}

// remote is the request's way to the registries.
func (o Options) remote() scanner.Remote { return scanner.New(o.Scanner...).Remote(o.Request) }

// openStore opens the request's database once for the run, unless no check needs it;
// close is nil when nothing was opened.
func (o *Options) openStore(ctx context.Context) (close func(), err error) {
	vuln, err := o.Request.Wants(scanner.ScannerVuln)
	if err != nil || !vuln {
		return nil, err
	}
	store, err := scanner.New(o.Scanner...).OpenStore(ctx, o.Request)
	if err != nil {
		return nil, err
	}
	o.Scanner = append(o.Scanner[:len(o.Scanner):len(o.Scanner)], scanner.WithStore(store))
	return func() { store.Close() }, nil
}

// Scanned is one image's outcome.
type Scanned struct {
	Target Target
	Result *report.Result // nil when the scan failed
	Err    error
	// Summary is the image's line in the summary, SARIF its run in the SARIF summary.
	Summary report.FleetImage
	SARIF   json.RawMessage
}

// Scan scans each target with the scanner core, at most Parallel at once, and writes each
// image's JSON report. An image that cannot be scanned is an error line of its own; the
// others are still scanned. It stops early only when ctx ends.
func Scan(ctx context.Context, targets []Target, o Options) []Scanned {
	parallel := o.Parallel
	if parallel <= 0 {
		parallel = 2
	}
	out := make([]Scanned, len(targets))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = failed(t, failure.Incompletef("not scanned: %w", context.Cause(ctx)))
				return
			}
			defer func() { <-sem }()
			out[i] = scanOne(ctx, t, o)
		}()
	}
	wg.Wait()
	return out
}

func scanOne(ctx context.Context, t Target, o Options) (s Scanned) {
	defer func() {
		if r := recover(); r != nil {
			s = failed(t, failure.Incompletef("internal error while scanning: %v (please report this)", r))
		}
	}()
	r := o.Request.FromRegistry()
	r.Image = t.Ref()
	// Bases are found by comparing diff IDs across the images: every one is checked.
	res, err := scanner.New(append(o.Scanner[:len(o.Scanner):len(o.Scanner)], scanner.WithAllDiffIDs())...).Scan(ctx, r)
	if err != nil {
		return failed(t, err)
	}
	s = Scanned{Target: t, Result: res, Summary: summarize(t, res)}
	if s.SARIF, err = SARIFRun(t, res); err != nil {
		return failed(t, failure.Incompletef("writing the report: %w", err))
	}
	if o.Dir != "" {
		rel := filepath.ToSlash(filepath.Join("images", FileName(t)+".json"))
		if err := writeJSON(filepath.Join(o.Dir, rel), res); err != nil {
			return failed(t, failure.Incompletef("writing the report: %w", err))
		}
		s.Summary.Report = rel
	}
	return s
}

func writeJSON(path string, res *report.Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return output.WriteFile(path, func(w io.Writer) error { return output.Render(w, "json", res, output.Options{}) })
}

func failed(t Target, err error) Scanned {
	return Scanned{Target: t, Err: err, Summary: report.FleetImage{
		Reference: t.Ref(), Digest: t.Digest, Names: t.Names, Status: report.FleetError, Error: failure.OneLine(err.Error()),
	}}
}

func summarize(t Target, res *report.Result) report.FleetImage {
	fi := report.FleetImage{Reference: t.Ref(), Digest: t.Digest, Names: t.Names, Counts: res.Verdict.Counts, Gating: res.Verdict.AtOrAboveThreshold}
	switch res.Verdict.Outcome() {
	case report.Passed:
		fi.Status = report.FleetPass
	case report.FailedIncomplete:
		fi.Status = report.FleetIncomplete
	default:
		fi.Status = report.FleetFail
	}
	return fi
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName is a target's report file name: its repository and digest, safe on every
// file system.
func FileName(t Target) string {
	repo := t.Repository
	if i := strings.IndexByte(repo, '/'); i >= 0 {
		repo = repo[i+1:] // the registry host is the same for all
	}
	return strings.Trim(unsafeName.ReplaceAllString(repo, "_"), "_") + "@" + strings.TrimPrefix(t.Digest, "sha256:")[:12]
}
