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
		for i, r := range f.Runs {
			// Shard labels are the shard's own input: normalised ("01/2" is 1/2) so that a
			// shard cannot count twice, and every run must say the gate it decided by.
			sh, err := ParseShard(r.Shard, func(string) string { return "" })
			if err != nil {
				return nil, nil, failure.Incompletef("%s: shard %q: not a shard label i/n", dir, r.Shard)
			}
			r.Shard = sh.String()
			if _, err := report.ParseSeverity(r.Threshold); err != nil || r.FailOnIssues == nil {
				return nil, nil, failure.Incompletef("%s: the run does not say the gate its images were decided by (threshold, fail-on-issues): scan the shard again with this imagegate", dir)
			}
			f.Runs[i] = r
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
			im, err := redecide(im, f.Runs[0])
			if err != nil {
				return nil, nil, failure.Incompletef("%s: %w", dir, err)
			}
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

// redecide decides an image again from its numbers and the run's gate: a shard's
// status is kept only where it is the stricter one (an image that could not be scanned
// or was incomplete stays so).
func redecide(im report.FleetImage, run report.FleetRun) (report.FleetImage, error) {
	total := 0
	for sev, n := range im.Counts {
		if _, err := report.ParseSeverity(sev); err != nil || n < 0 {
			return im, fmt.Errorf("image %s: count %q = %d is not a severity's count", im.Reference, sev, n)
		}
		total += n
	}
	if im.Gating < 0 || im.New < 0 || im.NewGating < 0 || im.Gating > total || im.NewGating > im.New {
		return im, fmt.Errorf("image %s: its counts do not add up (gating %d of %d, new gating %d of %d)", im.Reference, im.Gating, total, im.NewGating, im.New)
	}
	if im.Error != "" {
		im.Status = report.FleetError
	}
	if im.Status != report.FleetPass {
		return im, nil
	}
	gating := im.Gating
	if run.Kind == "rescan" {
		gating = im.NewGating // a rescan fails on what is new
	}
	if *run.FailOnIssues && gating > 0 {
		im.Status = report.FleetFail
	}
	return im, nil
}

func shardCount(s string) int {
	sh, err := ParseShard(s, func(string) string { return "" })
	if err != nil {
		return -1
	}
	return sh.Count
}
