package fleetreport

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/markdown"
	"github.com/imagegate/imagegate/reporters/visible"
)

// recommendationLines describe each base in use and its alternatives, one line each, by
// their vulnerabilities (the table's columns count every finding of an image: its
// vulnerabilities, secrets and image checks).
func recommendationLines(f *report.Fleet) []string {
	var out []string
	countsOf := func(m map[string]int) string {
		var parts []string
		for _, s := range severities {
			parts = append(parts, fmt.Sprintf("%d %s", m[s.String()], strings.ToLower(s.String())))
		}
		return "vulnerabilities " + strings.Join(parts, ", ")
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

// ShortDigest is a digest cut to its algorithm and first 12 hex digits.
func ShortDigest(d string) string {
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
	var read, cached, rejected int64
	for _, r := range f.Runs {
		read += r.LayersRead
		cached += r.LayersCached
		rejected += r.LayersRejected
	}
	what := "images"
	if isRescan(f) {
		what = fmt.Sprintf("images re-checked from their SBOMs (%d new findings, %d of them failing the gate)", sum(f, func(im report.FleetImage) int { return im.New }), sum(f, func(im report.FleetImage) int { return im.NewGating }))
	}
	s := fmt.Sprintf("%d %s: %d pass, %d fail, %d incomplete, %d not scanned; %d listing problems; layers: %d read, %d from the layer cache",
		len(f.Images), what, t[report.FleetPass], t[report.FleetFail], t[report.FleetIncomplete], t[report.FleetError], len(f.Problems), read, cached)
	if rejected > 0 {
		s += fmt.Sprintf(" (%d cache entries rejected: they did not verify, and their layers were read again)", rejected)
	}
	switch f.Outcome().ExitCode() {
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
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", im.Status, visible.String(imageName(im)), ShortDigest(im.Digest), strings.Join(counts(im), "\t"), visible.String(rebuild(im)))
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
	esc := markdown.Text
	fmt.Fprintf(w, "## imagegate registry scan\n\n**%s**\n\n", esc(Verdict(f)))
	if isRescan(f) {
		fmt.Fprintln(w, "Each image's vulnerabilities by severity, matched from its attached SBOM.")
	} else {
		fmt.Fprintln(w, "Each image's findings (vulnerabilities, secrets, image checks) by severity; the base image recommendations compare vulnerabilities.")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Status | Image | Digest | Critical | High | Medium | Low | Unknown | Base |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---|")
	for _, im := range f.Images {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", im.Status, esc(imageName(im)), markdown.Code(ShortDigest(im.Digest)), strings.Join(counts(im), " | "), esc(rebuild(im)))
	}
	if isRescan(f) {
		fmt.Fprintln(w, "\n### New since the last rescan")
		for _, im := range f.Images {
			for _, n := range im.NewFindings {
				fmt.Fprintf(w, "- %s: %s\n", esc(imageName(im)), esc(n))
			}
		}
	}
	if rb := f.Rebuilds(); len(rb) > 0 {
		fmt.Fprintln(w, "\n### Due a rebuild (the base tag has moved on)")
		for _, r := range rb {
			fmt.Fprintf(w, "- %s: built on %s %s, now %s\n", esc(r.Image), esc(r.Base), markdown.Code(ShortDigest(r.BuiltOn)), markdown.Code(ShortDigest(r.Current)))
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
