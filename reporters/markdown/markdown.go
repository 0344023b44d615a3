// Package markdown writes a scan result as a Markdown summary (a GitHub job summary, an
// Azure DevOps build summary, a PR comment): the verdict, counts, the most severe
// findings with their fixes, and every finding in collapsible sections, under 1 MiB.
package markdown

import (
	"fmt"
	"io"
	"strings"

	"github.com/imagegate/imagegate/report"
)

// MaxSize is the limit GitHub puts on a job summary.
const MaxSize = 1 << 20

// Options configures the summary.
type Options struct {
	// Top is how many findings the "most severe" table shows (default 10).
	Top int
	// MaxSize bounds the output (default MaxSize); detail tables are cut to fit.
	MaxSize int
}

// Write renders the summary.
func Write(w io.Writer, r *report.Result, o Options) error {
	if o.Top == 0 {
		o.Top = 10
	}
	if o.MaxSize == 0 {
		o.MaxSize = MaxSize
	}
	var active, suppressed, unreachable []report.Finding
	for _, f := range r.Findings {
		switch {
		case f.Suppressed != nil && f.Suppressed.Kind == report.NotReachable:
			unreachable = append(unreachable, f)
		case f.Suppressed != nil:
			suppressed = append(suppressed, f)
		default:
			active = append(active, f)
		}
	}

	byKind := report.ByKind(active)
	// A column for every kind the scan looked for or found, and for every check an image
	// scan did not run (its cells say so: not run is not zero); a section for every kind
	// with findings.
	var kinds []report.Kind
	for _, k := range report.Kinds {
		if len(byKind[k]) > 0 || r.Verdict.Ran(k) || r.NotRun(k) {
			kinds = append(kinds, k)
		}
	}
	var head strings.Builder
	writeHeading(&head, r)
	writeGate(&head, r, o.Top)
	writeCounts(&head, r, kinds, byKind)
	if len(active) > 0 {
		fmt.Fprintf(&head, "\n### Most severe findings\n\n| Severity | Finding | Where | Fix |\n|---|---|---|---|\n")
		for i, f := range active {
			if i == o.Top {
				break
			}
			head.WriteString(row(f))
		}
	}
	var sections []section
	for _, k := range kinds {
		if len(byKind[k]) > 0 {
			sections = append(sections, section{"All: " + k.Title(), byKind[k]})
		}
	}
	sections = append(sections, section{suppressedTitle, suppressed}, section{unreachableTitle, unreachable})
	tail := details(sections, o.MaxSize-head.Len()-200)
	_, err := io.WriteString(w, head.String()+tail)
	return err
}

// writeHeading writes the verdict and what was scanned.
func writeHeading(head *strings.Builder, r *report.Result) {
	verdict := "✅ PASS"
	if !r.Verdict.Pass {
		verdict = "❌ FAIL"
	}
	fmt.Fprintf(head, "## imagegate: %s\n\n", verdict)
	if r.Image != nil {
		fmt.Fprintf(head, "**Image** %s", code(r.Image.Label()))
		if r.Image.Digest != "" {
			fmt.Fprintf(head, " · %s", code(r.Image.Digest))
		}
		if r.OS != nil && r.OS.PrettyName != "" {
			fmt.Fprintf(head, " · %s", text(r.OS.PrettyName))
		}
		fmt.Fprintf(head, " · %d packages\n\n", len(r.Packages))
	}
	if r.Dockerfile != "" {
		fmt.Fprintf(head, "**Dockerfile** %s\n\n", code(r.Dockerfile))
	}
}

// writeGate writes what the gate decided on, and what was not analysed (top items).
func writeGate(head *strings.Builder, r *report.Result, top int) {
	v := r.Verdict
	gate := "fails"
	if !v.FailOnIssues {
		gate = "is reported (fail-on-issues is off)"
	}
	fmt.Fprintf(head, "**Gate:** %d findings at or above **%s** — the gate %s on them (%s).", v.AtOrAboveThreshold, v.Threshold, gate, v.Note())
	if v.Suppressed > 0 {
		fmt.Fprintf(head, " %d suppressed by ignore entries or VEX.", v.Suppressed)
	}
	n := len(r.Incomplete)
	if n == 0 {
		return
	}
	if v.AllowIncomplete {
		fmt.Fprintf(head, "\n\n**Incomplete (allowed):** %d items were not analysed:\n", n)
	} else {
		fmt.Fprintf(head, "\n\n**Incomplete — the gate fails closed:** %d items were not analysed:\n", n)
	}
	for i, w := range r.Incomplete {
		if i == top {
			fmt.Fprintf(head, "- … %d more: see the JSON report.\n", n-i)
			break
		}
		fmt.Fprintf(head, "- %s\n", text(w))
	}
}

// writeCounts writes the severity × kind table; a check not run says so in its cells.
func writeCounts(head *strings.Builder, r *report.Result, kinds []report.Kind, byKind map[report.Kind][]report.Finding) {
	head.WriteString("\n\n| Severity |")
	for _, k := range kinds {
		fmt.Fprintf(head, " %s |", k.Title())
	}
	head.WriteString("\n|---|" + strings.Repeat("---:|", len(kinds)) + "\n")
	for s := report.Critical; s >= report.Unknown; s-- {
		row, total := "", 0
		for _, k := range kinds {
			if r.NotRun(k) {
				row += " not run |"
				continue
			}
			n := count(byKind[k], s)
			row += fmt.Sprintf(" %d |", n)
			total += n
		}
		if total > 0 || s != report.Unknown {
			fmt.Fprintf(head, "| %s |%s\n", s, row)
		}
	}
}

type section struct {
	title string
	list  []report.Finding
}

const (
	suppressedTitle  = "Suppressed findings"
	unreachableTitle = "Not reachable in their Go binaries (set aside)"
)

// details writes each section as a collapsible table within budget bytes: a table cut
// short says how many rows it left out, and a section that does not fit is left out.
func details(sections []section, budget int) string {
	var tail strings.Builder
	for _, sec := range sections {
		if len(sec.list) == 0 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "\n<details><summary>%s (%d)</summary>\n\n", sec.title, len(sec.list))
		accepted := sec.title == suppressedTitle || sec.title == unreachableTitle
		if accepted {
			b.WriteString("| Severity | Finding | Where | Accepted because |\n|---|---|---|---|\n")
		} else {
			b.WriteString("| Severity | Finding | Where | Fix |\n|---|---|---|---|\n")
		}
		shown := 0
		for _, f := range sec.list {
			line := row(f)
			if accepted {
				line = fmt.Sprintf("| %s | %s | %s | %s (%s) |\n", f.Severity, name(f), where(f), text(f.Suppressed.Reason), code(f.Suppressed.Source))
			}
			if tail.Len()+b.Len()+len(line)+100 > budget {
				break
			}
			b.WriteString(line)
			shown++
		}
		if shown < len(sec.list) {
			fmt.Fprintf(&b, "\n… %d more: see the SARIF or JSON report.\n", len(sec.list)-shown)
		}
		b.WriteString("\n</details>\n")
		if tail.Len()+b.Len() > budget {
			break
		}
		tail.WriteString(b.String())
	}
	return tail.String()
}

func count(fs []report.Finding, s report.Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity == s {
			n++
		}
	}
	return n
}

func row(f report.Finding) string {
	fix := "-"
	switch {
	case f.Kind == report.KindVulnerability && len(f.FixedVersions) > 0:
		fix = "upgrade to " + text(strings.Join(f.FixedVersions, " or "))
	case f.Kind == report.KindVulnerability:
		fix = "no fix yet"
	case f.Rule != nil:
		fix = cell(f.Rule.Fix) // imagegate's own text, with its code spans
	}
	sev := f.Severity.String()
	switch {
	case f.BelowThreshold:
		sev += " (below threshold)"
	case f.Baseline == report.BaselineNew:
		sev += " (new)"
	case f.Baseline == report.BaselineUnchanged:
		sev += " (in the baseline)"
	}
	if r := f.Reachability; r != nil && r.State == report.Reachable {
		sev += " (reachable)"
	} else if r != nil && r.State == report.ReachUnknown {
		sev += " (reachability unknown)"
	}
	if f.Borrowed() {
		sev += " (rated by another advisory)"
	}
	return fmt.Sprintf("| %s | %s | %s | %s |\n", sev, name(f), where(f), fix)
}

func name(f report.Finding) string {
	if f.Rule != nil {
		return link(f.ID, f.Rule.HelpURI) + " " + text(f.Message)
	}
	id := text(f.ID)
	if len(f.References) > 0 {
		id = link(f.ID, f.References[0])
	}
	if d := f.SeverityDetail(); d != "" {
		id += " <sub>" + text(d) + "</sub>"
	}
	if f.Title != "" {
		return id + " " + text(f.Title)
	}
	return id
}

func where(f report.Finding) string {
	switch {
	case f.Package != nil:
		s := code(f.Package.Name + " " + f.Package.Version)
		if f.Layer >= 0 {
			s += fmt.Sprintf(" (layer %d)", f.Layer)
		}
		return s
	case f.Kind == report.KindImage || f.Kind == report.KindSecret:
		var parts []string
		if f.Target != "" {
			parts = append(parts, code("/"+strings.TrimPrefix(f.Target, "/")))
		}
		if f.Layer >= 0 {
			parts = append(parts, fmt.Sprintf("layer %d", f.Layer))
		}
		if f.Location != nil {
			parts = append(parts, code(fmt.Sprintf("%s:%d", f.Location.Path, f.Location.StartLine)))
		}
		if len(parts) == 0 {
			return "image config"
		}
		return strings.Join(parts, " · ")
	case f.Location != nil:
		return code(fmt.Sprintf("%s:%d", f.Location.Path, f.Location.StartLine))
	}
	return "-"
}
