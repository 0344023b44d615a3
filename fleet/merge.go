package fleet

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/fleetreport"
)

// Merge joins the output folders of a sharded registry scan. It checks that they are the
// shards of one listing (the same count and list digest), each present once and complete,
// and that their images add up to the listing: a missing shard is an error, never a
// smaller fleet.
func Merge(dirs []string) (*report.Fleet, []json.RawMessage, error) {
	if len(dirs) == 0 {
		return nil, nil, failure.Inputf("give the output folders of the shards to merge")
	}
	m := merger{out: &report.Fleet{Images: []report.FleetImage{}}, seenShard: map[string]string{}, seenImage: map[string]bool{},
		problems: map[string]report.FleetProblem{}, recs: map[string]*report.BaseRecommendation{}}
	for _, dir := range dirs {
		if err := m.add(dir); err != nil {
			return nil, nil, err
		}
	}
	if n := shardCount(m.want.Shard); len(m.seenShard) != n {
		var missing []string
		for i := 1; i <= n; i++ {
			if _, ok := m.seenShard[fmt.Sprintf("%d/%d", i, n)]; !ok {
				missing = append(missing, fmt.Sprintf("%d/%d", i, n))
			}
		}
		return nil, nil, failure.Incompletef("shards %s are missing: the merged summary would not cover the registry", strings.Join(missing, ", "))
	}
	if len(m.out.Images) != m.want.Listed {
		return nil, nil, failure.Incompletef("the shards hold %d images but the listing had %d", len(m.out.Images), m.want.Listed)
	}
	for _, p := range m.problems {
		m.out.Problems = append(m.out.Problems, p)
	}
	for _, r := range m.recs {
		m.out.Recommendations = append(m.out.Recommendations, *r)
	}
	sortFleet(m.out)
	return m.out, m.runs, nil
}

// merger joins shard folders one at a time.
type merger struct {
	out       *report.Fleet
	runs      []json.RawMessage
	want      report.FleetRun // the first run: every shard must be of the same listing
	seenShard map[string]string
	seenImage map[string]bool
	problems  map[string]report.FleetProblem
	recs      map[string]*report.BaseRecommendation
}

// add joins one shard's folder: its runs, its images decided again, the listing's
// problems, the base recommendations and the SARIF runs.
func (m *merger) add(dir string) error {
	f, err := ReadSummary(filepath.Join(dir, SummaryJSONL))
	if err != nil {
		return err
	}
	for i, r := range f.Runs {
		if f.Runs[i], err = m.addRun(dir, r); err != nil {
			return err
		}
	}
	for _, im := range f.Images {
		im, err := redecide(im, f.Runs[0])
		if err != nil {
			return failure.Incompletef("%s: %w", dir, err)
		}
		if m.seenImage[im.Digest] {
			return failure.Inputf("%s: image %s is in two shards", dir, im.Reference)
		}
		m.seenImage[im.Digest] = true
		if im.Report != "" {
			im.Report = filepath.ToSlash(filepath.Join(dir, im.Report))
		}
		m.out.Images = append(m.out.Images, im)
	}
	for _, p := range f.Problems {
		m.problems[p.Subject] = p // every shard sees the listing's problems
	}
	for _, r := range f.Recommendations {
		if prev, ok := m.recs[r.Base]; ok {
			prev.UsedBy += r.UsedBy
			continue
		}
		m.recs[r.Base] = &r
	}
	shardRuns, err := ReadSARIFRuns(dir)
	if err != nil {
		return err
	}
	m.runs = append(m.runs, shardRuns...)
	return nil
}

// addRun checks one run of a shard and returns it with its label normalised.
func (m *merger) addRun(dir string, r report.FleetRun) (report.FleetRun, error) {
	// Shard labels are the shard's own input: normalised ("01/2" is 1/2) so that a shard
	// cannot count twice, and every run must say the gate it decided by.
	sh, err := ParseShard(r.Shard, func(string) string { return "" })
	if err != nil {
		return r, failure.Incompletef("%s: shard %q: not a shard label i/n", dir, r.Shard)
	}
	r.Shard = sh.String()
	if _, err := report.ParseSeverity(r.Threshold); err != nil || r.FailOnIssues == nil {
		return r, failure.Incompletef("%s: the run does not say the gate its images were decided by (threshold, fail-on-issues): scan the shard again with this imagegate", dir)
	}
	if m.want.Shard == "" {
		m.want = r
	}
	if r.ListDigest != m.want.ListDigest || r.Listed != m.want.Listed || shardCount(r.Shard) != shardCount(m.want.Shard) {
		return r, failure.Inputf("%s: shard %s listed %d images (%s), shard %s listed %d (%s): not shards of one scan (the registry changed between them?)", dir, r.Shard, r.Listed, fleetreport.ShortDigest(r.ListDigest), m.want.Shard, m.want.Listed, fleetreport.ShortDigest(m.want.ListDigest))
	}
	if prev, ok := m.seenShard[r.Shard]; ok {
		return r, failure.Inputf("shard %s is in both %s and %s", r.Shard, prev, dir)
	}
	m.seenShard[r.Shard] = dir
	m.out.Runs = append(m.out.Runs, r)
	return r, nil
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
