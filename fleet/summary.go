package fleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/reporters/sarif"
	"github.com/imagegate/imagegate/reporters/visible"
	"github.com/imagegate/imagegate/scanner/failure"
)

// Summary files in a registry scan's output folder.
const (
	SummaryJSONL    = "summary.jsonl"
	SummaryMarkdown = "summary.md"
	// SARIFDir holds the SARIF summary: summary-1.sarif, summary-2.sarif, ..., each with
	// at most MaxRunsPerSARIF runs (a run per image).
	SARIFDir = "sarif"
	// RebuildList is the machine-readable list of images whose base tag has moved on.
	RebuildList = "rebuild.json"
)

// Summarize joins a run's listing problems and scanned images into its summary.
func Summarize(run report.FleetRun, problems []report.FleetProblem, scanned []Scanned) *report.Fleet {
	f := &report.Fleet{Runs: []report.FleetRun{run}, Problems: problems, Images: []report.FleetImage{}}
	for _, s := range scanned {
		f.Images = append(f.Images, s.Summary)
	}
	sortFleet(f)
	return f
}

func sortFleet(f *report.Fleet) {
	sort.Slice(f.Images, func(i, j int) bool { return f.Images[i].Reference < f.Images[j].Reference })
	sort.Slice(f.Problems, func(i, j int) bool { return f.Problems[i].Subject < f.Problems[j].Subject })
	sort.Slice(f.Runs, func(i, j int) bool { return f.Runs[i].Shard < f.Runs[j].Shard })
	sort.Slice(f.Recommendations, func(i, j int) bool { return f.Recommendations[i].Base < f.Recommendations[j].Base })
}

// recommendationLines describe each base in use and its alternatives, one line each.
func recommendationLines(f *report.Fleet) []string {
	var out []string
	countsOf := func(m map[string]int) string {
		var parts []string
		for _, s := range severities {
			parts = append(parts, fmt.Sprintf("%d %s", m[s.String()], strings.ToLower(s.String())))
		}
		return strings.Join(parts, ", ")
	}
	for _, r := range f.Recommendations {
		head := fmt.Sprintf("base %s (used by %d): %s", r.Base, r.UsedBy, countsOf(r.Counts))
		if r.Error != "" {
			head = fmt.Sprintf("base %s (used by %d): %s", r.Base, r.UsedBy, r.Error)
		}
		out = append(out, head)
		for _, c := range r.Candidates {
			if c.Error != "" {
				out = append(out, fmt.Sprintf("  %s (%s): %s", c.Tag, c.Relation, c.Error))
				continue
			}
			out = append(out, fmt.Sprintf("  %s (%s, via %s): %s", c.Tag, c.Relation, c.Via, countsOf(c.Counts)))
		}
		if len(r.Candidates) == 0 && r.Error == "" {
			out = append(out, "  no other tag of its family in the repository")
		}
	}
	return out
}

// Category is an image's SARIF category: one per image, so that code scanning keeps the
// images' alerts apart.
func Category(t Target) string { return "imagegate/registry/" + FileName(t) }

// WriteSummary writes the summary files into dir: JSON lines (the run, then an image or
// a problem per line), Markdown, the images due a rebuild, and SARIF (a run per scanned
// image, or the shards' runs when merging, sorted by category, in files of at most
// MaxRunsPerSARIF runs).
func WriteSummary(dir string, f *report.Fleet, runs []json.RawMessage) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failure.Inputf("output folder %s: %w", dir, err)
	}
	if err := output.WriteFile(filepath.Join(dir, SummaryJSONL), func(w io.Writer) error { return WriteJSONLines(w, f) }); err != nil {
		return err
	}
	if err := output.WriteFile(filepath.Join(dir, SummaryMarkdown), func(w io.Writer) error { return WriteMarkdown(w, f) }); err != nil {
		return err
	}
	if err := output.WriteFile(filepath.Join(dir, RebuildList), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(Rebuilds(f))
	}); err != nil {
		return err
	}
	sdir := filepath.Join(dir, SARIFDir)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return failure.Inputf("output folder %s: %w", sdir, err)
	}
	old, _ := filepath.Glob(filepath.Join(sdir, "summary-*.sarif"))
	n := 0
	for start := 0; start < len(runs) || start == 0; start += MaxRunsPerSARIF {
		n++
		part := runs[start:min(start+MaxRunsPerSARIF, len(runs))]
		if err := output.WriteFile(filepath.Join(sdir, fmt.Sprintf("summary-%d.sarif", n)), func(w io.Writer) error { return writeSARIF(w, part) }); err != nil {
			return err
		}
	}
	for _, p := range old { // a previous run's extra parts
		var k int
		if _, err := fmt.Sscanf(filepath.Base(p), "summary-%d.sarif", &k); err == nil && k > n {
			os.Remove(p)
		}
	}
	return nil
}

// MaxRunsPerSARIF is GitHub code scanning's limit of runs in one uploaded SARIF file.
const MaxRunsPerSARIF = 20

// ReadSARIFRuns reads the runs of a summary's SARIF files, in order.
func ReadSARIFRuns(dir string) ([]json.RawMessage, error) {
	var runs []json.RawMessage
	for n := 1; ; n++ {
		raw, err := os.ReadFile(filepath.Join(dir, SARIFDir, fmt.Sprintf("summary-%d.sarif", n)))
		if errors.Is(err, os.ErrNotExist) && n > 1 {
			return runs, nil
		}
		if err != nil {
			return nil, failure.Inputf("%s: %w", dir, err)
		}
		var log struct {
			Runs []json.RawMessage `json:"runs"`
		}
		if err := json.Unmarshal(raw, &log); err != nil {
			return nil, failure.Inputf("%s: summary-%d.sarif: %w", dir, n, err)
		}
		runs = append(runs, log.Runs...)
	}
}

// SARIFRun renders one image's result as a SARIF run under the image's own category.
func SARIFRun(t Target, res *report.Result) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := sarif.WriteRuns(&buf, []sarif.Run{{Result: res, Options: sarif.Options{Category: Category(t)}}}); err != nil {
		return nil, err
	}
	var log struct {
		Runs []json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil || len(log.Runs) != 1 {
		return nil, fmt.Errorf("SARIF run of %s: %v", t.Ref(), err)
	}
	return log.Runs[0], nil
}

// SARIFRuns are the scanned images' SARIF runs, by category.
func SARIFRuns(scanned []Scanned) []json.RawMessage {
	var ss []Scanned
	for _, s := range scanned {
		if s.SARIF != nil {
			ss = append(ss, s)
		}
	}
	sort.Slice(ss, func(i, j int) bool { return Category(ss[i].Target) < Category(ss[j].Target) })
	runs := make([]json.RawMessage, len(ss))
	for i, s := range ss {
		runs[i] = s.SARIF
	}
	return runs
}

// writeSARIF writes the runs into one SARIF log as they are (each already indented).
func writeSARIF(w io.Writer, runs []json.RawMessage) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{\n  \"$schema\": \"" + sarif.SchemaURI + "\",\n  \"version\": \"2.1.0\",\n  \"runs\": [")
	for i, r := range runs {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		bw.Write(bytes.TrimSpace(r))
	}
	if len(runs) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// line is one line of summary.jsonl: exactly one field is set.
type line struct {
	Run     *report.FleetRun     `json:"run,omitempty"`
	Image   *report.FleetImage   `json:"image,omitempty"`
	Problem *report.FleetProblem `json:"problem,omitempty"`
	// Recommendation is a base image in use and its alternatives.
	Recommendation *report.BaseRecommendation `json:"recommendation,omitempty"`
}

func WriteJSONLines(w io.Writer, f *report.Fleet) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range f.Runs {
		if err := enc.Encode(line{Run: &f.Runs[i]}); err != nil {
			return err
		}
	}
	for i := range f.Images {
		if err := enc.Encode(line{Image: &f.Images[i]}); err != nil {
			return err
		}
	}
	for i := range f.Problems {
		if err := enc.Encode(line{Problem: &f.Problems[i]}); err != nil {
			return err
		}
	}
	for i := range f.Recommendations {
		if err := enc.Encode(line{Recommendation: &f.Recommendations[i]}); err != nil {
			return err
		}
	}
	return nil
}

// ReadSummary reads a summary.jsonl.
func ReadSummary(path string) (*report.Fleet, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, failure.Inputf("summary %s: %w", path, err)
	}
	defer file.Close()
	f := &report.Fleet{Images: []report.FleetImage{}}
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l line
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, failure.Inputf("summary %s line %d: %w", path, n, err)
		}
		switch {
		case l.Run != nil:
			f.Runs = append(f.Runs, *l.Run)
		case l.Image != nil:
			f.Images = append(f.Images, *l.Image)
		case l.Problem != nil:
			f.Problems = append(f.Problems, *l.Problem)
		case l.Recommendation != nil:
			f.Recommendations = append(f.Recommendations, *l.Recommendation)
		default:
			return nil, failure.Inputf("summary %s line %d: neither a run, an image nor a problem", path, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, failure.Inputf("summary %s: %w", path, err)
	}
	if len(f.Runs) == 0 {
		return nil, failure.Inputf("summary %s: no run line: not a registry scan summary", path)
	}
	return f, nil
}

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

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

var severities = []report.Severity{report.Critical, report.High, report.Medium, report.Low, report.Unknown}

// Totals counts the images by status.
func Totals(f *report.Fleet) map[string]int {
	t := map[string]int{}
	for _, im := range f.Images {
		t[im.Status]++
	}
	return t
}

// Verdict is the summary's last line.
func Verdict(f *report.Fleet) string {
	t := Totals(f)
	var read, cached int64
	for _, r := range f.Runs {
		read += r.LayersRead
		cached += r.LayersCached
	}
	what := "images"
	if isRescan(f) {
		what = fmt.Sprintf("images re-checked from their SBOMs (%d new findings, %d of them failing the gate)", sum(f, func(im report.FleetImage) int { return im.New }), sum(f, func(im report.FleetImage) int { return im.NewGating }))
	}
	s := fmt.Sprintf("%d %s: %d pass, %d fail, %d incomplete, %d not scanned; %d listing problems; layers: %d read, %d from the layer cache",
		len(f.Images), what, t[report.FleetPass], t[report.FleetFail], t[report.FleetIncomplete], t[report.FleetError], len(f.Problems), read, cached)
	switch ExitCode(f) {
	case failure.ExitIncomplete:
		return "FAIL (incomplete) " + s
	case failure.ExitFindings:
		return "FAIL " + s
	}
	return "PASS " + s
}

func sum(f *report.Fleet, fn func(report.FleetImage) int) int {
	n := 0
	for _, im := range f.Images {
		n += fn(im)
	}
	return n
}

func imageName(im report.FleetImage) string {
	if len(im.Names) > 0 {
		n := im.Names[0]
		if len(im.Names) > 1 {
			n += fmt.Sprintf(" (+%d)", len(im.Names)-1)
		}
		return n
	}
	return im.Reference
}

// counts are an image's findings per severity, or dashes when it was not scanned.
func counts(im report.FleetImage) []string {
	out := make([]string, len(severities))
	for i, s := range severities {
		if im.Status == report.FleetError {
			out[i] = "-"
			continue
		}
		out[i] = fmt.Sprint(im.Counts[s.String()])
	}
	return out
}

func rebuild(im report.FleetImage) string {
	switch {
	case im.Base == nil:
		return ""
	case im.Base.Error != "":
		return "? " + im.Base.Name
	case im.Base.Rebuild:
		return "rebuild: " + im.Base.Name + " moved"
	}
	return "ok " + im.Base.Name
}

// WriteTable writes the summary as a plain-text table.
func WriteTable(w io.Writer, f *report.Fleet) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rescan := isRescan(f)
	head := "STATUS\tIMAGE\tDIGEST\tCRITICAL\tHIGH\tMEDIUM\tLOW\tUNKNOWN\tBASE"
	if rescan {
		head += "\tNEW"
	}
	fmt.Fprintln(tw, head)
	for _, im := range f.Images {
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", im.Status, visible.String(imageName(im)), short(im.Digest), strings.Join(counts(im), "\t"), visible.String(rebuild(im)))
		if rescan {
			row += fmt.Sprintf("\t%d", im.New)
		}
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, im := range f.Images {
		for _, n := range im.NewFindings {
			fmt.Fprintf(w, "new: %s: %s\n", visible.String(imageName(im)), visible.String(n))
		}
	}
	for _, im := range f.Images {
		if im.Error != "" {
			fmt.Fprintf(w, "not scanned: %s: %s\n", visible.String(im.Reference), visible.String(im.Error))
		}
	}
	for _, p := range f.Problems {
		fmt.Fprintf(w, "not listed: %s: %s\n", visible.String(p.Subject), visible.String(p.Error))
	}
	for _, l := range recommendationLines(f) {
		fmt.Fprintln(w, visible.String(l))
	}
	_, err := fmt.Fprintln(w, Verdict(f))
	return err
}

func isRescan(f *report.Fleet) bool { return len(f.Runs) > 0 && f.Runs[0].Kind == "rescan" }

// WriteMarkdown writes the summary as Markdown (a job summary, a pull request comment).
func WriteMarkdown(w io.Writer, f *report.Fleet) error {
	esc := func(s string) string {
		return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;").Replace(visible.String(s))
	}
	fmt.Fprintf(w, "## imagegate registry scan\n\n**%s**\n\n", esc(Verdict(f)))
	fmt.Fprintln(w, "| Status | Image | Digest | Critical | High | Medium | Low | Unknown | Base |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---|")
	for _, im := range f.Images {
		fmt.Fprintf(w, "| %s | %s | `%s` | %s | %s |\n", im.Status, esc(imageName(im)), short(im.Digest), strings.Join(counts(im), " | "), esc(rebuild(im)))
	}
	if isRescan(f) {
		fmt.Fprintln(w, "\n### New since the last rescan")
		for _, im := range f.Images {
			for _, n := range im.NewFindings {
				fmt.Fprintf(w, "- %s: %s\n", esc(imageName(im)), esc(n))
			}
		}
	}
	if rb := Rebuilds(f); len(rb) > 0 {
		fmt.Fprintln(w, "\n### Due a rebuild (the base tag has moved on)")
		for _, r := range rb {
			fmt.Fprintf(w, "- %s: built on %s `%s`, now `%s`\n", esc(r.Image), esc(r.Base), short(r.BuiltOn), short(r.Current))
		}
	}
	if lines := recommendationLines(f); len(lines) > 0 {
		fmt.Fprintln(w, "\n### Base image recommendations")
		for _, l := range lines {
			if strings.HasPrefix(l, "  ") {
				fmt.Fprintf(w, "  - %s\n", esc(strings.TrimSpace(l)))
			} else {
				fmt.Fprintf(w, "- %s\n", esc(l))
			}
		}
	}
	if len(f.Problems) > 0 || Totals(f)[report.FleetError] > 0 {
		fmt.Fprintln(w, "\n### Not scanned")
		for _, im := range f.Images {
			if im.Error != "" {
				fmt.Fprintf(w, "- %s: %s\n", esc(im.Reference), esc(im.Error))
			}
		}
		for _, p := range f.Problems {
			fmt.Fprintf(w, "- %s: %s\n", esc(p.Subject), esc(p.Error))
		}
	}
	return nil
}
