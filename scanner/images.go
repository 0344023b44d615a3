package scanner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/layercache"
	"github.com/imagegate/imagegate/scanner/policy"
)

// ScanMemoryLimit is the Go runtime's soft memory limit while a command scans: the
// garbage collector works harder as the heap nears it instead of letting the heap grow to
// twice what is live. A scan's working set fits in it whatever the image's size
// (bench/run.sh); past it is only what the scan keeps (package databases, manifests:
// bounded by Limits.MaxRetained), and the collector then lets the heap grow. On the 1 GiB
// gzip bench image (4 runs): 30 MiB made 35-38 collections and peaked at 59 MiB RSS, 32
// MiB 27 and 60.6, 34 MiB 23 and 63.5 (the CPU within the runs' noise of each other).
const ScanMemoryLimit = 32 << 20

// LimitMemory sets ScanMemoryLimit for the process, unless GOMEMLIMIT is set, and returns
// what restores the limit before. The commands that scan call it; importing data does not
// (an import holds its index pages by design: under the limit it took 1.4× as long).
//
// Under the limit, the collector runs only as the heap nears it (no GOGC target, unless
// GOGC is set): the heap doubling from a few megabytes made the process collect 10-11
// times scanning the 100 MB gzip bench image, the limit alone 5-6 times (wall time -7%,
// 11 runs A/B); a large image's scan runs at the limit either way (the collector's goal
// is the lower of the two), so the peak is the limit's.
func LimitMemory() (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetMemoryLimit(ScanMemoryLimit)
	prevPercent := -2
	if os.Getenv("GOGC") == "" {
		prevPercent = debug.SetGCPercent(-1)
	}
	return func() {
		if prevPercent != -2 {
			debug.SetGCPercent(prevPercent)
		}
		debug.SetMemoryLimit(prev)
	}
}

// MaxParallelImages is how many images ScanImages reads at once: each scan holds its own
// retained files (Limits.MaxRetained), so two at a time keep the peak near two scans'.
const MaxParallelImages = 2

// errOtherImage stops the scans of a run in which another image's scan failed.
var errOtherImage = errors.New("another image's scan failed")

// ScanImages scans each of images with the request r (its Image is set per image), the
// vulnerability data opened once for all, up to MaxParallelImages at a time, and returns
// the results in the order of images with a label for each (the image, and with
// Registry.Platform image.AllPlatforms one result per platform of a multi-platform index,
// labelled image#os-arch). Each is decided on by itself (with several images, each takes
// the baseline report that names it); the run fails with the first image's error, in the
// order given, when any scan cannot complete: a partial set of reports never stands for
// the whole.
func (s *Scanner) ScanImages(ctx context.Context, r Request, images []string) ([]*report.Result, []string, error) {
	if len(images) == 0 {
		return nil, nil, failure.Inputf("no image to scan")
	}
	for i, img := range images {
		if slices.Contains(images[:i], img) {
			return nil, nil, failure.Inputf("image %s is named twice", img)
		}
	}
	if len(images) > 1 && (r.Dockerfile.Path != "" || r.Base.Image != "") {
		// Each is of one image: its lines and layers would be laid over every other.
		return nil, nil, failure.Inputf("a Dockerfile and a base image belong to one image: scan several images without them (--resolve-base finds each image's base), or each image with its own in a step of its own")
	}
	targets, err := s.targets(ctx, r, images)
	if err != nil {
		return nil, nil, err
	}
	labels := make([]string, len(targets))
	for i, t := range targets {
		labels[i] = t.label()
	}
	if len(targets) == 1 {
		r.Image, r.Registry.Platform = targets[0].image, targets[0].platform
		res, err := s.Scan(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		return []*report.Result{res}, labels, nil
	}
	one := *s
	if wants, err := r.Wants(ScannerVuln); err != nil {
		return nil, nil, err
	} else if wants && one.store == nil {
		st, err := s.OpenStore(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		defer st.Close()
		one.store = st
	}
	if len(targets) > len(images) && one.layerCache == nil {
		// The platforms of an index share layers: a cache for this run lets a scan that
		// reaches a layer another has analysed take it from the cache.
		dir, err := os.MkdirTemp("", "imagegate-platforms-")
		if err != nil {
			return nil, nil, failure.Incompletef("a layer cache for the platforms: %w", err)
		}
		defer os.RemoveAll(dir)
		c, err := layercache.Open(filepath.Join(dir, "layers"))
		if err != nil {
			return nil, nil, err
		}
		one.layerCache = c
	}
	p := policy.Default
	if r.Policy != nil {
		p = *r.Policy
	}
	p.PerImage = len(images) > 1
	r.Policy = &p
	results, err := one.scanEach(ctx, r, targets)
	return results, labels, err
}

// target is one image to scan, on one platform ("" for the request's).
type target struct{ image, platform string }

func (t target) label() string {
	if t.platform == "" {
		return t.image
	}
	return t.image + "#" + strings.ReplaceAll(t.platform, "/", "-")
}

// targets are the images to scan: each image, or with image.AllPlatforms each platform of
// each multi-platform index (a single-platform image is scanned as it is).
func (s *Scanner) targets(ctx context.Context, r Request, images []string) ([]target, error) {
	var out []target
	for _, img := range images {
		if r.Registry.Platform != image.AllPlatforms {
			out = append(out, target{img, r.Registry.Platform})
			continue
		}
		_, err := image.Open(ctx, img, s.ImageOptions(r)...)
		var pe *image.PlatformsError
		switch {
		case errors.As(err, &pe):
			for _, p := range pe.Platforms {
				out = append(out, target{img, p})
			}
		case errors.Is(err, image.ErrSinglePlatform):
			out = append(out, target{img, ""})
		case err != nil:
			return nil, fmt.Errorf("image %s: %w", img, err)
		default:
			out = append(out, target{img, ""})
		}
	}
	return out, nil
}

// scanEach scans the targets in parallel and returns their results in order, or the
// first target's error.
func (s *Scanner) scanEach(ctx context.Context, r Request, targets []target) ([]*report.Result, error) {
	results := make([]*report.Result, len(targets))
	errs := make([]error, len(targets))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, min(MaxParallelImages, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, t := range targets {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			req := r
			req.Image, req.Registry.Platform = t.image, t.platform
			results[i], errs[i] = s.Scan(ctx, req)
			if errs[i] != nil {
				cancel(errOtherImage) // the run fails: the other scans stop
			}
		}()
	}
	wg.Wait()
	stopped := errors.Is(context.Cause(ctx), errOtherImage)
	for i, err := range errs {
		// A scan stopped because another failed is not the run's error.
		if err != nil && !errors.Is(err, errOtherImage) && !(stopped && errors.Is(err, context.Canceled)) {
			return nil, fmt.Errorf("image %s: %w", targets[i].label(), err)
		}
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", targets[i].label(), err)
		}
	}
	return results, nil
}
