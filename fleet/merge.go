package fleet

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/failure"
)

// Merge joins the output folders of a sharded registry scan. It checks that they are the
// shards of one listing (the same count and list digest), each present once and complete,
// and that their images add up to the listing: a missing shard is an error, never a
// smaller fleet.
func Merge(dirs []string) (*report.Fleet, []json.RawMessage, error) {
	if len(dirs) == 0 {
		return nil, nil, failure.Inputf("give the output folders of the shards to merge")
	}
	out := &report.Fleet{Images: []report.FleetImage{}}
	var runs []json.RawMessage
	seenShard := map[string]string{}
	seenImage := map[string]bool{}
	problems := map[string]report.FleetProblem{}
	recs := map[string]*report.BaseRecommendation{}
	var want report.FleetRun
	for _, dir := range dirs {
		f, err := ReadSummary(filepath.Join(dir, SummaryJSONL))
		if err != nil {
			return nil, nil, err
		}
		for _, r := range f.Runs {
			if want.Shard == "" {
				want = r
			}
			if r.ListDigest != want.ListDigest || r.Listed != want.Listed || shardCount(r.Shard) != shardCount(want.Shard) {
				return nil, nil, failure.Inputf("%s: shard %s listed %d images (%s), shard %s listed %d (%s): not shards of one scan (the registry changed between them?)", dir, r.Shard, r.Listed, short(r.ListDigest), want.Shard, want.Listed, short(want.ListDigest))
			}
			if prev, ok := seenShard[r.Shard]; ok {
				return nil, nil, failure.Inputf("shard %s is in both %s and %s", r.Shard, prev, dir)
			}
			seenShard[r.Shard] = dir
			out.Runs = append(out.Runs, r)
		}
		for _, im := range f.Images {
			if seenImage[im.Digest] {
				return nil, nil, failure.Inputf("%s: image %s is in two shards", dir, im.Reference)
			}
			seenImage[im.Digest] = true
			if im.Report != "" {
				im.Report = filepath.ToSlash(filepath.Join(dir, im.Report))
			}
			out.Images = append(out.Images, im)
		}
		for _, p := range f.Problems {
			problems[p.Subject] = p // every shard sees the listing's problems
		}
		for _, r := range f.Recommendations {
			if prev, ok := recs[r.Base]; ok {
				prev.UsedBy += r.UsedBy
				continue
			}
			r := r
			recs[r.Base] = &r
		}
		shardRuns, err := ReadSARIFRuns(dir)
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, shardRuns...)
	}
	if n := shardCount(want.Shard); len(seenShard) != n {
		var missing []string
		for i := 1; i <= n; i++ {
			if _, ok := seenShard[fmt.Sprintf("%d/%d", i, n)]; !ok {
				missing = append(missing, fmt.Sprintf("%d/%d", i, n))
			}
		}
		return nil, nil, failure.Incompletef("shards %s are missing: the merged summary would not cover the registry", strings.Join(missing, ", "))
	}
	if len(out.Images) != want.Listed {
		return nil, nil, failure.Incompletef("the shards hold %d images but the listing had %d", len(out.Images), want.Listed)
	}
	for _, p := range problems {
		out.Problems = append(out.Problems, p)
	}
	for _, r := range recs {
		out.Recommendations = append(out.Recommendations, *r)
	}
	sortFleet(out)
	return out, runs, nil
}

func shardCount(s string) int {
	sh, err := ParseShard(s, func(string) string { return "" })
	if err != nil {
		return -1
	}
	return sh.Count
}
