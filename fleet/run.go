package fleet

import (
	"context"
	"time"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/layercache"
)

// DefaultLayerCache names the layer cache in the user cache folder.
const DefaultLayerCache = "default"

// Run is one registry scan, or one shard of it.
type Run struct {
	// Targets are registries (host[:port]) and repositories (host[:port]/name).
	Targets []string
	Filter  Filter
	Shard   Shard
	Options
	// LayerCache is the layer cache folder ("": none; "default": imagegate/layers in the
	// user cache).
	LayerCache string
	// LayerCacheMaxAge prunes the layer cache's entries not used for this long before the
	// scan (0: no pruning).
	LayerCacheMaxAge time.Duration
	// LayerCacheMaxBytes then bounds the cache's size, least recently used entries removed
	// first (0: no bound).
	LayerCacheMaxBytes int64
	// Recommend checks the other tags of each base image in use (newer, next major,
	// other flavours) and lists their vulnerability counts.
	Recommend bool
}

// Do lists the targets, keeps the shard's images, scans them (the database opened once,
// layers shared between images read once) and writes the summary files into Dir. The
// error is for what stops the whole run (bad arguments, an unreadable catalog, no
// database); an image or repository that fails is in the summary.
func (r Run) Do(ctx context.Context) (*report.Fleet, error) {
	listing, err := List(ctx, r.Targets, r.Filter, ListOptions{Remote: r.remote(), Parallel: 4 * max(r.Parallel, 2)})
	if err != nil {
		return nil, err
	}
	mine := r.Shard.Of(listing.Targets)
	opts := r.Options
	closeStore, err := opts.openStore(ctx)
	if err != nil {
		return nil, err
	}
	if closeStore != nil {
		defer closeStore()
	}
	var cache *layercache.Dir
	switch r.LayerCache {
	case "":
	case DefaultLayerCache:
		cache, err = layercache.Default()
	default:
		cache, err = layercache.Open(r.LayerCache)
	}
	if err != nil {
		return nil, err
	}
	if cache != nil {
		opts.Scanner = append(opts.Scanner, scanner.WithLayerCache(cache))
		if r.LayerCacheMaxAge > 0 || r.LayerCacheMaxBytes > 0 {
			if _, err := cache.Prune(r.LayerCacheMaxAge, r.LayerCacheMaxBytes); err != nil {
				return nil, failure.Incompletef("layer cache %s: %w", cache.Path(), err)
			}
		}
	}
	scanned := Scan(ctx, mine, opts)
	run := report.FleetRun{Kind: "scan", Shard: r.Shard.String(), Listed: len(listing.Targets), ListDigest: listing.Digest(), Images: len(mine), Targets: r.Targets}
	gateOf(&run, opts.Request.Policy)
	for _, s := range scanned {
		if s.Result != nil {
			run.LayersRead += int64(len(s.Result.Layers))
		}
	}
	if cache != nil {
		run.LayersCached = cache.Hits()
		run.LayersRejected = cache.Rejected()
		run.LayersRead -= run.LayersCached
	}
	bases := findBases(ctx, mine, listing.Targets, opts.remote())
	for i := range scanned {
		scanned[i].Summary.Base = bases[scanned[i].Target.Digest]
	}
	f := Summarize(run, listing.Problems, scanned)
	if r.Recommend {
		f.Recommendations = recommend(ctx, f.Images, opts.remote(), func(ref string) (report.BaseCandidate, error) {
			return checkBase(ctx, ref, opts)
		})
	}
	runs := SARIFRuns(scanned)
	if err := finished(ctx); err != nil {
		return nil, err
	}
	if r.Dir != "" {
		if err := WriteSummary(r.Dir, f, runs); err != nil {
			return nil, err
		}
	}
	return f, nil
}
