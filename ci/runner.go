// Package ci is the one run sequence of imagegate as a CI step. A CI system is a Host (one
// file each: github/, azure/, gitlab/); Run reads the inputs through it, makes sure vulnerability
// data is there, scans, and hands everything back in the CI's own terms: report files,
// the log, annotations (within the CI's limit per level, the verdict included), the
// summary, output variables, the CI's artifacts, and the step's result.
package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/imagegate/imagegate/ci/inputs"
	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/reporters/visible"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// Level is an annotation's level. Hosts without notices show them as warnings.
type Level int

// Levels, most severe first.
const (
	Error Level = iota
	Warning
	Notice
)

// Annotation is a message the CI shows apart from the log, on a file line when it has one.
// Every text in it may come from the image: hosts escape it for their command syntax.
type Annotation struct {
	Level   Level
	Title   string
	Message string
	Code    string // the finding's id
	File    string // relative to the checkout
	Line    int
	EndLine int
}

// Output is a step output, by its canonical (kebab-case) name.
type Output struct{ Name, Value string }

// Result is the step's result.
type Result int

// Results.
const (
	Succeeded Result = iota
	SucceededWithIssues
	Failed
)

// Files are the report files a run wrote (absolute paths): one SARIF log and one Markdown
// summary for all the images, a JSON report and an SBOM per image.
type Files struct {
	SARIF, Markdown string
	JSON, SBOM      []string
}

// Host is one CI system.
type Host interface {
	// Input returns the raw value of a canonical input ("" when unset).
	Input(name string) string
	// InputName is how this CI spells a canonical input, for messages.
	InputName(name string) string
	// Checkout is the folder file paths in annotations are relative to.
	Checkout() string
	// CacheDir is where downloaded data is kept when the cache-dir input is not set.
	CacheDir() string
	// Log is the step's log. Hosts neutralise command syntax in what is written to it:
	// reports carry strings from the image.
	Log() io.Writer
	Mask(secret string)
	Group(title string)
	EndGroup()
	// Level maps a severity to this CI's annotation level; Limit is how many annotations
	// of one level the CI shows.
	Level(s report.Severity) Level
	Limit() int
	Annotate(a Annotation)
	Summary(markdown string, file string) error
	SetOutputs(outs []Output) error
	// Publish hands the report files to the CI (artifacts, pull request comments); rs are
	// the results of st.Images, in order.
	Publish(ctx context.Context, st *inputs.Settings, rs []*report.Result, files Files) error
	// Complete sets the step's result (a no-op where the exit code decides it).
	Complete(r Result, message string)
}

// WorkspaceWriter is a Host that writes files of its own in the workspace (GitLab's
// dotenv report): they are checked with the report files before any work, so a link
// committed where one goes is refused up front.
type WorkspaceWriter interface {
	WorkspaceFiles() []string
}

// Run runs a scan as a CI step and returns the process exit code.
func Run(ctx context.Context, h Host) int {
	r := &run{h: h, used: map[Level]int{}}
	return r.run(ctx)
}

type run struct {
	h    Host
	used map[Level]int // annotations written per level
}

func (r *run) run(ctx context.Context) int {
	h := r.h
	st, err := inputs.Parse(h.Input, h.InputName)
	if err != nil {
		return r.fail(err)
	}
	for _, s := range st.Secrets {
		h.Mask(s)
	}
	for _, n := range st.Relaxed {
		fmt.Fprintf(h.Log(), "imagegate: notice: %s\n", n)
	}
	specs := reportSpecs(st)
	if err := checkOutputs(h, specs, st.Images); err != nil {
		return r.fail(err) // before any work
	}
	if err := r.data(ctx, st); err != nil {
		return r.fail(err)
	}
	h.Group("imagegate scan " + strings.Join(st.Images, " "))
	restore := scanner.LimitMemory()
	rs, labels, err := scanner.New().ScanImages(ctx, st.Scan, st.Images)
	restore()
	h.EndGroup()
	if err != nil {
		return r.fail(err)
	}
	st.Images = labels // one per result: with platform all, an image per platform
	files, err := r.write(st, specs, rs)
	if err != nil {
		return r.fail(err)
	}
	if err := output.RenderAll(h.Log(), st.Format, rs, output.Options{Packages: st.ListPackages, SARIFCategory: st.SARIFCategory}); err != nil {
		return r.fail(failure.Incompletef("writing the report to the log: %w", err))
	}
	// The verdict's annotation is written last but its place is kept from the start.
	if output.Overall(rs) != report.Passed {
		r.used[Error]++
	}
	for i, res := range rs {
		for _, w := range res.Incomplete {
			r.annotate(Annotation{Level: Warning, Title: "imagegate: not analysed", Message: r.of(st, i) + w})
		}
		for _, w := range res.Warnings {
			r.annotate(Annotation{Level: Warning, Title: "imagegate warning", Message: r.of(st, i) + w})
		}
	}
	if err := h.Publish(ctx, st, rs, files); err != nil {
		r.annotate(Annotation{Level: Warning, Title: "imagegate", Message: err.Error()})
	}
	left := 0
	if st.Annotations {
		left = r.findings(st, rs)
	}
	if st.Summary {
		if err := r.summary(files.Markdown, left); err != nil {
			return r.fail(err)
		}
	}
	if err := h.SetOutputs(Outputs(rs, files)); err != nil {
		return r.fail(failure.Incompletef("writing step outputs: %w", err))
	}
	return r.complete(rs)
}

// of names image i of a scan of several for messages ("" for one image).
func (r *run) of(st *inputs.Settings, i int) string {
	if len(st.Images) < 2 {
		return ""
	}
	return st.Images[i] + ": "
}

// checkOutputs refuses, before any work, a report path (or a workspace file the host
// writes) that is a planted link.
func checkOutputs(h Host, specs []output.Spec, images []string) error {
	var paths []string
	for _, sp := range specs {
		paths = append(paths, output.Paths(sp, images)...)
	}
	if ww, ok := h.(WorkspaceWriter); ok {
		paths = append(paths, ww.WorkspaceFiles()...)
	}
	for _, p := range paths {
		if err := output.Check(p); err != nil {
			return err
		}
	}
	return nil
}

// summary publishes the Markdown report as the run's summary, saying how many findings
// were left unannotated.
func (r *run) summary(markdown string, left int) error {
	md, err := os.ReadFile(markdown)
	if err != nil {
		return failure.Incompletef("reading the summary: %w", err)
	}
	text := string(md)
	if left > 0 {
		text += fmt.Sprintf("\n_%d more findings are not annotated (the CI shows %d per level): they are listed above and in the SARIF report._\n", left, r.h.Limit())
	}
	if err := r.h.Summary(text, markdown); err != nil {
		return failure.Incompletef("writing the summary: %w", err)
	}
	return nil
}

// complete tells the host the step's result, with the verdict's annotation in the place
// kept for it, and returns the exit code.
func (r *run) complete(rs []*report.Result) int {
	h := r.h
	active, incomplete, gating, notes := 0, 0, 0, []string{}
	var threshold report.Severity
	for _, res := range rs {
		for _, f := range res.Findings {
			if f.Suppressed == nil {
				active++
			}
		}
		incomplete += len(res.Incomplete)
		gating += res.Verdict.AtOrAboveThreshold
		threshold = res.Verdict.Threshold
		note := res.Verdict.Note()
		if len(rs) > 1 && res.Image != nil {
			note = res.Image.Name + ": " + note
		}
		notes = append(notes, note)
	}
	note := strings.Join(notes, "; ")
	outcome := output.Overall(rs)
	switch outcome {
	case report.FailedIncomplete:
		msg := fmt.Sprintf("imagegate: the scan did not analyse everything (%d items, listed in the reports): the gate fails closed (%s: true decides on the findings alone)", incomplete, h.InputName("allow-incomplete"))
		r.used[Error]--
		r.annotate(Annotation{Level: Error, Title: "imagegate gate failed", Message: msg})
		h.Complete(Failed, msg)
		return outcome.ExitCode()
	case report.FailedOnFindings:
		msg := fmt.Sprintf("imagegate: %d findings at or above %s (%s)", gating, strings.ToLower(threshold.String()), note)
		r.used[Error]-- // its place was kept
		r.annotate(Annotation{Level: Error, Title: "imagegate gate failed", Message: msg})
		h.Complete(Failed, msg)
		return outcome.ExitCode()
	}
	switch {
	case active > 0 || incomplete > 0:
		h.Complete(SucceededWithIssues, fmt.Sprintf("imagegate: %d findings, none failing the gate (%s)", active, note))
	default:
		h.Complete(Succeeded, "imagegate: no findings")
	}
	return report.Passed.ExitCode()
}

// fail reports an error that ended the run and returns its exit code.
func (r *run) fail(err error) int {
	msg := failure.OneLine(failure.Explain(err, r.spell))
	r.annotate(Annotation{Level: Error, Title: "imagegate", Message: msg})
	r.h.Complete(Failed, msg)
	return failure.Code(err)
}

// spell names a setting (by its CLI flag) the way this CI's users set it: its input, or
// the flag in additional-arguments when the CI has no input for it.
func (r *run) spell(flag string) string {
	for _, in := range inputs.Table {
		if in.Flag == flag {
			return "the " + r.h.InputName(in.Name) + " input"
		}
	}
	return "--" + flag + " in the " + r.h.InputName("additional-arguments") + " input"
}

// annotate writes a within the host's limit for its level; it says whether it did. Its
// texts may come from the image: control characters are shown as escapes for every host
// (the hosts escape their own command syntax).
func (r *run) annotate(a Annotation) bool {
	if r.used[a.Level] >= r.h.Limit() {
		return false
	}
	a.Title, a.Message, a.File = visible.String(a.Title), visible.Lines(a.Message), visible.String(a.File)
	r.used[a.Level]++
	r.h.Annotate(a)
	return true
}

// data makes sure the scan has vulnerability data. An explicit db-path (or IMAGEGATE_DB)
// is used as is. Otherwise the data lives in the cache folder and is downloaded, or
// brought up to date with conditional requests, from db-source; with no source and no
// data the run cannot complete (exit 3), naming the inputs that fix it.
func (r *run) data(ctx context.Context, st *inputs.Settings) error {
	if st.Scan.Data.DB != "" || os.Getenv("IMAGEGATE_DB") != "" || st.Scan.SBOM == "" && len(st.Images) == 0 {
		return nil
	}
	if len(st.Scan.Checks) > 0 && !slices.Contains(st.Scan.Checks, scanner.ScannerVuln) {
		return nil
	}
	cache := st.CacheDir
	if cache == "" {
		cache = r.h.CacheDir()
	}
	dir := filepath.Join(cache, "db")
	st.Scan.Data.DB = dir
	have := hasData(ctx, dir)
	if st.DBSource == "" {
		if have {
			return nil
		}
		return failure.Incompletef("no vulnerability data in %s and downloads are off (%s: none): set %s to a database folder or a folder of OSV all.zip files, or %s to a source", dir, r.h.InputName("db-source"), r.h.InputName("db-path"), r.h.InputName("db-source"))
	}
	r.h.Group("imagegate vulnerability data (" + dir + ")")
	_, err := vulndb.Update(ctx, dir, vulndb.UpdateOptions{Source: st.DBSource, Log: r.h.Log(), SkipMissing: true})
	r.h.EndGroup()
	if err == nil {
		return nil
	}
	if have && ctx.Err() == nil {
		// The cached data still serves; the scan warns when it is older than db-max-age.
		r.annotate(Annotation{Level: Warning, Title: "imagegate", Message: "vulnerability data was not updated, the cached data is used: " + failure.OneLine(err.Error())})
		return nil
	}
	var ferr *failure.Error
	if errors.As(err, &ferr) && ferr.Kind == failure.KindInput {
		return err
	}
	return failure.Incompletef("no vulnerability data: the download from %s failed (%v); on a runner without network set %s to a database folder or a folder of OSV all.zip files", st.DBSource, failure.OneLine(err.Error()), r.h.InputName("db-path"))
}

func hasData(ctx context.Context, dir string) bool {
	s, err := vulndb.OpenPath(ctx, dir)
	if err != nil {
		return false
	}
	s.Close()
	return true
}

// reportSpecs are the report files of a run: SARIF, JSON, the Markdown summary and the
// CycloneDX SBOM next to the SARIF file, and any -o outputs of additional-arguments.
func reportSpecs(st *inputs.Settings) []output.Spec {
	base := strings.TrimSuffix(st.SARIFFile, filepath.Ext(st.SARIFFile))
	specs := []output.Spec{{Format: "sarif", Path: st.SARIFFile}, {Format: "json", Path: st.JSONFile}, {Format: "markdown", Path: base + ".md"}, {Format: "cyclonedx", Path: base + ".cdx.json"}}
	return append(specs, st.Outputs...)
}

// write writes the report files (checked before the scan); each is replaced whole or not
// at all.
func (r *run) write(st *inputs.Settings, specs []output.Spec, rs []*report.Result) (Files, error) {
	opts := output.Options{Packages: st.ListPackages, SARIFCategory: st.SARIFCategory}
	for _, sp := range specs {
		if err := output.WriteAll(sp, st.Images, rs, opts); err != nil {
			return Files{}, err
		}
	}
	all := func(sp output.Spec) []string {
		var out []string
		for _, p := range output.Paths(sp, st.Images) {
			out = append(out, abs(p))
		}
		return out
	}
	return Files{SARIF: abs(specs[0].Path), JSON: all(specs[1]), Markdown: abs(specs[2].Path), SBOM: all(specs[3])}, nil
}

// findings annotates the most severe findings of all the images that count for the gate,
// within the host's limit per level, and returns how many were left out.
func (r *run) findings(st *inputs.Settings, rs []*report.Result) int {
	type finding struct {
		report.Finding
		of string
	}
	var active []finding
	for i, res := range rs {
		for _, f := range res.Findings {
			if f.Gates() { // not one the baseline already had
				active = append(active, finding{f, r.of(st, i)})
			}
		}
	}
	sort.SliceStable(active, func(i, j int) bool { return active[i].Severity > active[j].Severity })
	left := 0
	for _, f := range active {
		a := Annotation{Level: r.h.Level(f.Severity), Title: f.of + title(f.Finding), Message: message(f.Finding), Code: f.ID}
		if f.Location != nil {
			a.File = inputs.RelativeTo(f.Location.Path, r.h.Checkout())
			a.Line, a.EndLine = f.Location.StartLine, f.Location.EndLine
		}
		if !r.annotate(a) {
			left++
		}
	}
	return left
}

func title(f report.Finding) string {
	if f.Package != nil {
		return fmt.Sprintf("%s %s in %s %s", f.Severity, f.ID, f.Package.Name, f.Package.Version)
	}
	return fmt.Sprintf("%s %s: %s", f.Severity, f.ID, f.Title)
}

func message(f report.Finding) string {
	if f.Kind == report.KindVulnerability && f.Package != nil {
		return fmt.Sprintf("%s\n%s (%s), layer %d.", f.Title, f.FixText(), f.Package.Ecosystem, f.Layer)
	}
	if f.Rule != nil {
		return f.Message + "\nFix: " + f.Rule.Fix
	}
	return f.Message
}

// Outputs are the step outputs of a run, over all its images. The severity counts add up
// to total: findings that are not suppressed, UNKNOWN severity included. json-file names
// each image's JSON report, one per line.
func Outputs(rs []*report.Result, files Files) []Output {
	result := "pass"
	if output.Overall(rs) != report.Passed {
		result = "fail"
	}
	counts := map[report.Severity]int{}
	total := 0
	for _, res := range rs {
		for _, f := range res.Findings {
			if f.Suppressed == nil {
				counts[f.Severity]++
				total++
			}
		}
	}
	return []Output{
		{"sarif-file", files.SARIF},
		{"json-file", strings.Join(files.JSON, "\n")},
		{"result", result},
		{"critical", strconv.Itoa(counts[report.Critical])},
		{"high", strconv.Itoa(counts[report.High])},
		{"medium", strconv.Itoa(counts[report.Medium])},
		{"low", strconv.Itoa(counts[report.Low])},
		{"unknown", strconv.Itoa(counts[report.Unknown])},
		{"total", strconv.Itoa(total)},
	}
}

// OutputNames lists the outputs every host sets.
var OutputNames = []string{"sarif-file", "json-file", "result", "critical", "high", "medium", "low", "unknown", "total"}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
