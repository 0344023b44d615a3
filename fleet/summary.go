package fleet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/fleetreport"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/reporters/sarif"
	"github.com/imagegate/imagegate/scanner/policy"
	"github.com/imagegate/imagegate/scanner/userfile"
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

// gateOf records the gate a run's images are decided by (the default policy's when none).
func gateOf(run *report.FleetRun, pol *policy.Policy) {
	p := policy.Default
	if pol != nil {
		p = *pol
	}
	run.Threshold, run.FailOnIssues = p.Threshold.String(), &p.FailOnIssues
}

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

// Category is an image's SARIF category: one per image, so that code scanning keeps the
// images' alerts apart.
func Category(t Target) string { return "imagegate/registry/" + FileName(t) }

// finished is the error for a run cut short (--timeout, SIGINT, SIGTERM): such a run
// writes no summary and no state, so that the last whole run's stay as they were.
func finished(ctx context.Context) error {
	if ctx.Err() != nil {
		return failure.Incompletef("the run did not finish: %w; no summary or state was written", context.Cause(ctx))
	}
	return nil
}

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
	if err := output.WriteFile(filepath.Join(dir, SummaryMarkdown), func(w io.Writer) error { return fleetreport.WriteMarkdown(w, f) }); err != nil {
		return err
	}
	if err := output.WriteFile(filepath.Join(dir, RebuildList), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f.Rebuilds())
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
		p := filepath.Join(dir, SARIFDir, fmt.Sprintf("summary-%d.sarif", n))
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) && n > 1 {
			return runs, nil
		}
		raw, err := userfile.Read(p, "sarif", MaxSARIFSize)
		if err != nil {
			return nil, err
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

// MaxSummarySize bounds a summary file read back (a shard's output is an input of the
// merge: a link to /dev/zero or a huge file is refused); MaxSARIFSize one SARIF file.
const (
	MaxSummarySize = 1 << 30
	MaxSARIFSize   = 256 << 20
)

// ReadSummary reads a summary.jsonl. Its images' statuses must be among the known ones.
func ReadSummary(path string) (*report.Fleet, error) {
	file, st, err := userfile.Open(path, "summary")
	if err != nil {
		return nil, err
	}
	defer file.Close()
	if st.Size() > MaxSummarySize {
		return nil, failure.Inputf("summary %s: %d bytes, over the limit of %d", path, st.Size(), MaxSummarySize)
	}
	f := &report.Fleet{Images: []report.FleetImage{}}
	sc := bufio.NewScanner(io.LimitReader(file, MaxSummarySize))
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
			switch l.Image.Status {
			case report.FleetPass, report.FleetFail, report.FleetIncomplete, report.FleetError:
			default:
				return nil, failure.Incompletef("summary %s line %d: image %s has status %q, not one of pass, fail, incomplete, error: the shard cannot be trusted", path, n, l.Image.Reference, l.Image.Status)
			}
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
