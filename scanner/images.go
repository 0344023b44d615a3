package scanner

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/policy"
)

// MaxParallelImages is how many images ScanImages reads at once: each scan holds its own
// retained files (Limits.MaxRetained), so two at a time keep the peak near two scans'.
const MaxParallelImages = 2

// errOtherImage stops the scans of a run in which another image's scan failed.
var errOtherImage = errors.New("another image's scan failed")

// ScanImages scans each of images with the request r (its Image is set per image), the
// vulnerability data opened once for all, up to MaxParallelImages at a time, and returns
// the results in the order of images. Each image is decided on by itself (with several
// images, each takes the baseline report that names it); the run fails with the first
// image's error, in the order given, when any scan cannot complete: a partial set of
// reports never stands for the whole.
func (s *Scanner) ScanImages(ctx context.Context, r Request, images []string) ([]*report.Result, error) {
	if len(images) == 0 {
		return nil, failure.Inputf("no image to scan")
	}
	for i, img := range images {
		if slices.Contains(images[:i], img) {
			return nil, failure.Inputf("image %s is named twice", img)
		}
	}
	if len(images) > 1 && (r.Dockerfile.Path != "" || r.Base.Image != "") {
		// Each is of one image: its lines and layers would be laid over every other.
		return nil, failure.Inputf("a Dockerfile and a base image belong to one image: scan several images without them (--resolve-base finds each image's base), or each image with its own in a step of its own")
	}
	if len(images) == 1 {
		r.Image = images[0]
		res, err := s.Scan(ctx, r)
		return []*report.Result{res}, err
	}
	one := *s
	if wants, err := r.Wants(ScannerVuln); err != nil {
		return nil, err
	} else if wants && one.store == nil {
		st, err := s.OpenStore(ctx, r)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		one.store = st
	}
	p := policy.Default
	if r.Policy != nil {
		p = *r.Policy
	}
	p.PerImage = true
	r.Policy = &p

	results := make([]*report.Result, len(images))
	errs := make([]error, len(images))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, min(MaxParallelImages, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, img := range images {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			req := r
			req.Image = img
			results[i], errs[i] = one.Scan(ctx, req)
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
			return nil, fmt.Errorf("image %s: %w", images[i], err)
		}
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", images[i], err)
		}
	}
	return results, nil
}
