// Package table writes a scan result as readable text for a terminal.
package table

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/visible"
)

// Options configures the table.
type Options struct {
	// Color turns on ANSI colour; set it only when writing to a terminal.
	Color bool
	// Packages lists every package; otherwise only counts per ecosystem are shown.
	Packages bool
}

const (
	bold  = "\x1b[1m"
	dim   = "\x1b[2m"
	reset = "\x1b[0m"
)

var severityColor = map[report.Severity]string{
	report.Critical: "\x1b[1;31m",
	report.High:     "\x1b[31m",
	report.Medium:   "\x1b[33m",
	report.Low:      "\x1b[36m",
	report.Unknown:  "\x1b[2m",
}

// Write renders r: the image and its layers, the packages, then each finding kind under
// its own heading (vulnerabilities grouped by severity, Dockerfile findings by line, image
// and secret findings by layer), the accepted findings with their reasons, what was not
// analysed, and the verdict.
func Write(w io.Writer, r *report.Result, o Options) error {
	t := &writer{ew: &errWriter{w: w}, st: style{color: o.Color}}
	if r.Image != nil {
		t.image(r)
		t.packages(r.Packages, o.Packages)
	}
	var active, accepted, unreachable []report.Finding
	for _, f := range r.Findings {
		switch {
		case f.Suppressed != nil && f.Suppressed.Kind == report.NotReachable:
			unreachable = append(unreachable, f)
		case f.Suppressed != nil:
			accepted = append(accepted, f)
		default:
			active = append(active, f)
		}
	}
	byKind := report.ByKind(active)
	for _, kind := range report.Kinds {
		fs := byKind[kind]
		switch {
		case r.NotRun(kind):
			// It found nothing because it did not look.
			t.printf("\n%s\n", t.st.bold(kind.Title()+": not run"))
		case !r.Verdict.Ran(kind) && len(fs) == 0:
			// A lint: the checks of an image do not apply.
		case kind == report.KindVulnerability:
			t.vulnerabilities(fs)
		case kind == report.KindDockerfile:
			t.ruleFindings(r.Dockerfile, fs)
		case len(fs) == 0:
			t.printf("\n%s\n", t.st.bold(kind.Title()+": none found"))
		default:
			t.imageFindings(kind.Title(), fs)
		}
	}
	if len(accepted) > 0 {
		t.accepted("Accepted", accepted)
	}
	if len(unreachable) > 0 {
		t.accepted("Not reachable in their Go binaries", unreachable)
	}
	t.verdict(r)
	return t.ew.err
}

type writer struct {
	ew *errWriter
	st style
}

func (t *writer) printf(format string, args ...any) { fmt.Fprintf(t.ew, format, args...) }

func (t *writer) table() *tabwriter.Writer { return tabwriter.NewWriter(t.ew, 0, 4, 2, ' ', 0) }

func (t *writer) image(r *report.Result) {
	img := r.Image
	t.printf("%s\n", t.st.bold("Image"))
	t.printf("  %-9s %s:%s\n", "name", img.Transport, v(img.Name))
	if img.Digest != "" {
		t.printf("  %-9s %s\n", "digest", v(img.Digest))
	}
	t.printf("  %-9s %s\n", "id", v(img.ID))
	if img.Platform != "" {
		t.printf("  %-9s %s\n", "platform", v(img.Platform))
	}
	if r.OS != nil {
		name := r.OS.PrettyName
		if name == "" {
			name = strings.TrimSpace(r.OS.ID + " " + r.OS.VersionID)
		}
		t.printf("  %-9s %s\n", "os", v(name))
	} else {
		t.printf("  %-9s %s\n", "os", t.st.dim("unknown (no os-release)"))
	}
	if len(r.Layers) == 0 {
		return // an SBOM scan: no layers to show
	}
	t.printf("\n%s\n", t.st.bold(fmt.Sprintf("Layers (%d)", len(r.Layers))))
	tw := t.table()
	fmt.Fprintf(tw, "  #\tDIFF ID\tFILES\tCREATED BY\n")
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\n", l.Index, v(short(l.DiffID)), l.Files, oneLine(l.CreatedBy, 70))
	}
	tw.Flush()
}

func (t *writer) packages(pkgs []report.Package, all bool) {
	groups := map[string][]report.Package{}
	var order []string
	for _, p := range pkgs {
		if _, ok := groups[p.Ecosystem]; !ok {
			order = append(order, p.Ecosystem)
		}
		groups[p.Ecosystem] = append(groups[p.Ecosystem], p)
	}
	if len(order) == 0 {
		t.printf("\n%s\n", t.st.dim("No packages found."))
		return
	}
	if !all {
		t.printf("\n%s\n", t.st.bold(fmt.Sprintf("Packages (%d)", len(pkgs))))
		for _, eco := range order {
			name := eco
			if name == "" {
				name = "(unknown)"
			}
			t.printf("  %-16s %d\n", v(name), len(groups[eco]))
		}
		return
	}
	for _, eco := range order {
		ps := groups[eco]
		t.printf("\n%s\n", t.st.bold(fmt.Sprintf("%s (%d packages)", v(eco), len(ps))))
		tw := t.table()
		fmt.Fprintf(tw, "  NAME\tVERSION\tSOURCE\tLAYER\tLOCATION\n")
		for _, p := range ps {
			src := "-"
			if p.SourceName != "" {
				src = p.SourceName
				if p.SourceVersion != "" && p.SourceVersion != p.Version {
					src += " " + p.SourceVersion
				}
			}
			loc := strings.Join(p.Locations, ",")
			if p.OSOwned {
				loc += " (OS package)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", v(p.Name), v(p.Version), v(src), p.Layer, v(loc))
		}
		tw.Flush()
	}
}

func counts(fs []report.Finding) (map[report.Severity]int, string) {
	c := map[report.Severity]int{}
	for _, f := range fs {
		c[f.Severity]++
	}
	var parts []string
	for s := report.Critical; s >= report.Unknown; s-- {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], strings.ToLower(s.String())))
		}
	}
	return c, strings.Join(parts, ", ")
}

// vulnerabilities prints the vulnerabilities grouped by severity, most severe first.
func (t *writer) vulnerabilities(fs []report.Finding) {
	if len(fs) == 0 {
		t.printf("\n%s\n", t.st.bold("Vulnerabilities: none found"))
		return
	}
	c, summary := counts(fs)
	t.printf("\n%s\n", t.st.bold(fmt.Sprintf("Vulnerabilities (%d: %s)", len(fs), summary)))
	for s := report.Critical; s >= report.Unknown; s-- {
		if c[s] == 0 {
			continue
		}
		head := fmt.Sprintf("%s (%d)", s, c[s])
		for _, f := range fs {
			if f.Severity == s && f.BelowThreshold {
				head = fmt.Sprintf("%s (%d, below the threshold)", s, c[s])
				break
			}
		}
		t.printf("\n  %s\n", t.st.wrap(severityColor[s], head))
		tw := t.table()
		fmt.Fprintf(tw, "  ID\tPACKAGE\tINSTALLED\tFIXED\tLAYER\tSCORE\tTITLE\n")
		for _, f := range fs {
			if f.Severity != s {
				continue
			}
			fixed := strings.Join(f.FixedVersions, ", ")
			if fixed == "" {
				fixed = "-"
			}
			name, version := "-", "-"
			if f.Package != nil {
				name, version = f.Package.Name, f.Package.Version
			}
			id := v(f.ID)
			if f.Baseline == report.BaselineNew {
				id += " (new)" // against a baseline: what gates
			}
			if r := f.Reachability; r != nil && r.State == report.Reachable {
				id += " (reachable)" // the Go binary links the vulnerable code
			} else if r != nil && r.State == report.ReachUnknown {
				id += " (reachability unknown)" // its binary's tables could not be read: it gates as reachable
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\n", id, v(name), v(version), v(fixed), f.Layer, score(f), oneLine(f.Title, 60))
		}
		tw.Flush()
	}
}

// ruleFindings prints Dockerfile findings in line order.
func (t *writer) ruleFindings(path string, fs []report.Finding) {
	if len(fs) == 0 {
		t.printf("\n%s\n", t.st.bold("Dockerfile "+v(path)+": no findings"))
		return
	}
	_, summary := counts(fs)
	if path == "" {
		path = "(not given)"
	}
	t.printf("\n%s\n", t.st.bold(fmt.Sprintf("Dockerfile %s (%d: %s)", v(path), len(fs), summary)))
	sorted := append([]report.Finding(nil), fs...)
	sortByLine(sorted)
	tw := t.table()
	fmt.Fprintf(tw, "  LINE\tSEVERITY\tRULE\tMESSAGE\n")
	for _, f := range sorted {
		line := "-"
		if f.Location != nil {
			line = fmt.Sprint(f.Location.StartLine)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", line, t.st.wrap(severityColor[f.Severity], severity(f)), v(f.ID), oneLine(f.Message, 90))
	}
	tw.Flush()
}

// imageFindings prints findings about the built image (its config, its files, secrets in
// its layers) in layer order.
func (t *writer) imageFindings(title string, fs []report.Finding) {
	_, summary := counts(fs)
	t.printf("\n%s\n", t.st.bold(fmt.Sprintf("%s (%d: %s)", title, len(fs), summary)))
	sorted := append([]report.Finding(nil), fs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Layer < sorted[j].Layer })
	tw := t.table()
	fmt.Fprintf(tw, "  LAYER\tSEVERITY\tRULE\tMESSAGE\n")
	for _, f := range sorted {
		layer := "-"
		if f.Layer >= 0 {
			layer = fmt.Sprint(f.Layer)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", layer, t.st.wrap(severityColor[f.Severity], severity(f)), v(f.ID), oneLine(f.Message, 100))
	}
	tw.Flush()
}

// accepted prints the findings an ignore entry or a VEX statement accepted, and those a
// Go binary does not link the vulnerable code of (not-reachable): they do not count for
// the gate.
func (t *writer) accepted(title string, fs []report.Finding) {
	t.printf("\n%s\n", t.st.bold(fmt.Sprintf("%s (%d, not counted by the gate)", title, len(fs))))
	tw := t.table()
	fmt.Fprintf(tw, "  KIND\tSEVERITY\tID\tWHAT\tBECAUSE\n")
	for _, f := range fs {
		what := f.Message
		if f.Package != nil {
			what = f.Package.Name + " " + f.Package.Version
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.Kind, f.Severity, v(f.ID), oneLine(what, 50), oneLine(f.Suppressed.Kind+": "+f.Suppressed.Reason+" ("+f.Suppressed.Source+")", 80))
	}
	tw.Flush()
}

// score is a vulnerability's CVSS score or the vendor's rating, "*" when borrowed from
// another advisory (a record that shares an identifier, another vendor).
func score(f report.Finding) string {
	switch {
	case f.CVSS != nil && f.CVSS.Via != "":
		return fmt.Sprintf("%.1f*", f.CVSS.Score)
	case f.CVSS != nil:
		return fmt.Sprintf("%.1f", f.CVSS.Score)
	case f.Vendor != nil && f.Borrowed():
		return v(f.Vendor.Rating) + "*" // another vendor's rating
	case f.Vendor != nil:
		return v(f.Vendor.Rating)
	}
	return "-"
}

// severity names a finding's severity, marked when --report-all kept it below the
// threshold, or, against a baseline, new or already there.
func severity(f report.Finding) string {
	switch {
	case f.BelowThreshold:
		return f.Severity.String() + " (below threshold)"
	case f.Baseline == report.BaselineNew:
		return f.Severity.String() + " (new)"
	case f.Baseline == report.BaselineUnchanged:
		return f.Severity.String() + " (in the baseline)"
	}
	return f.Severity.String()
}

func sortByLine(fs []report.Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return lineOf(fs[i]) < lineOf(fs[j]) })
}

func lineOf(f report.Finding) int {
	if f.Location == nil {
		return 0
	}
	return f.Location.StartLine
}

func (t *writer) verdict(r *report.Result) {
	v := r.Verdict
	threshold := strings.ToLower(v.Threshold.String())
	if len(r.Incomplete) > 0 {
		t.printf("\nNot analysed (%d)\n", len(r.Incomplete))
		for _, w := range r.Incomplete {
			t.printf("  %s\n", visible.String(w))
		}
	}
	switch {
	case v.Outcome() == report.FailedIncomplete:
		t.printf("\n%s the scan is incomplete (%d not analysed); %d findings at or above %s (%s)\n", t.st.wrap(severityColor[report.Critical], "FAIL"), v.Incomplete, v.AtOrAboveThreshold, threshold, v.Note())
	case !v.Pass:
		t.printf("\n%s %d findings at or above %s (%s)\n", t.st.wrap(severityColor[report.Critical], "FAIL"), v.AtOrAboveThreshold, threshold, v.Note())
	case v.Incomplete > 0:
		t.printf("\n%s %d findings at or above %s; the scan is incomplete (%d not analysed, allowed; %s)\n", t.st.bold("PASS"), v.AtOrAboveThreshold, threshold, v.Incomplete, v.Note())
	case v.AtOrAboveThreshold > 0:
		t.printf("\n%s %d findings at or above %s (fail-on-issues is off; %s)\n", t.st.bold("PASS"), v.AtOrAboveThreshold, threshold, v.Note())
	default:
		t.printf("\n%s no findings at or above %s (%s)\n", t.st.bold("PASS"), threshold, v.Note())
	}
}

type style struct{ color bool }

func (s style) bold(t string) string { return s.wrap(bold, t) }
func (s style) dim(t string) string  { return s.wrap(dim, t) }
func (s style) wrap(code, t string) string {
	if !s.color {
		return t
	}
	return code + t + reset
}

func short(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// oneLine folds white space and cuts s to n runes so that one entry stays on one line.
// v shows a string from the image, a package or an advisory with its control characters
// escaped: it cannot move the cursor, recolour the terminal or start a new log line.
func v(s string) string { return visible.String(s) }

func oneLine(s string, n int) string {
	s = visible.String(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

// errWriter remembers the first write error so the renderer can stay linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
