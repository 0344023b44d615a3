// Package table writes a scan result as readable text for a terminal.
package table

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/finding"
	"github.com/imagegate/imagegate/scanner/inventory"
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

// Write renders r: the image, its layers, then its packages grouped by ecosystem.
func Write(w io.Writer, r *scanner.Result, o Options) error {
	st := style{color: o.Color}
	ew := &errWriter{w: w}
	img := r.Image
	ew.printf("%s\n", st.bold("Image"))
	ew.printf("  %-9s %s:%s\n", "name", img.Transport, img.Name)
	if img.Digest != "" {
		ew.printf("  %-9s %s\n", "digest", img.Digest)
	}
	ew.printf("  %-9s %s\n", "id", img.ID)
	if img.Platform != "" {
		ew.printf("  %-9s %s\n", "platform", img.Platform)
	}
	if r.OS != nil {
		name := r.OS.PrettyName
		if name == "" {
			name = strings.TrimSpace(r.OS.ID + " " + r.OS.VersionID)
		}
		ew.printf("  %-9s %s\n", "os", name)
	} else {
		ew.printf("  %-9s %s\n", "os", st.dim("unknown (no os-release)"))
	}

	ew.printf("\n%s\n", st.bold(fmt.Sprintf("Layers (%d)", len(r.Layers))))
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\tDIFF ID\tFILES\tCREATED BY\n")
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\n", l.Index, short(l.DiffID), l.Files, oneLine(l.CreatedBy, 70))
	}
	tw.Flush()

	groups := map[string][]inventory.Package{}
	var order []string
	for _, p := range r.Packages {
		if _, ok := groups[p.Ecosystem]; !ok {
			order = append(order, p.Ecosystem)
		}
		groups[p.Ecosystem] = append(groups[p.Ecosystem], p)
	}
	if len(order) == 0 {
		ew.printf("\n%s\n", st.dim("No packages found."))
	} else if !o.Packages {
		ew.printf("\n%s\n", st.bold(fmt.Sprintf("Packages (%d)", len(r.Packages))))
		for _, eco := range order {
			ew.printf("  %-16s %d\n", eco, len(groups[eco]))
		}
	}
	for _, eco := range order {
		if !o.Packages {
			break
		}
		pkgs := groups[eco]
		ew.printf("\n%s\n", st.bold(fmt.Sprintf("%s (%d packages)", eco, len(pkgs))))
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  NAME\tVERSION\tSOURCE\tLAYER\tLOCATION\n")
		for _, p := range pkgs {
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
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", p.Name, p.Version, src, p.Layer, loc)
		}
		tw.Flush()
	}
	writeFindings(ew, r.Findings, st)
	return ew.err
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

// oneLine folds white space and cuts s to n runes so that one layer stays on one line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
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

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

var severityColor = map[finding.Severity]string{
	finding.Critical: "\x1b[1;31m",
	finding.High:     "\x1b[31m",
	finding.Medium:   "\x1b[33m",
	finding.Low:      "\x1b[36m",
	finding.Unknown:  "\x1b[2m",
}

// writeFindings prints the vulnerabilities grouped by severity, most severe first.
func writeFindings(ew *errWriter, findings []finding.Finding, st style) {
	counts := map[finding.Severity]int{}
	for _, f := range findings {
		counts[f.Severity]++
	}
	if len(findings) == 0 {
		ew.printf("\n%s\n", st.bold("Vulnerabilities: none found"))
		return
	}
	var parts []string
	for s := finding.Critical; s >= finding.Unknown; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], strings.ToLower(s.String())))
		}
	}
	ew.printf("\n%s\n", st.bold(fmt.Sprintf("Vulnerabilities (%d: %s)", len(findings), strings.Join(parts, ", "))))
	for s := finding.Critical; s >= finding.Unknown; s-- {
		if counts[s] == 0 {
			continue
		}
		ew.printf("\n  %s\n", st.wrap(severityColor[s], fmt.Sprintf("%s (%d)", s, counts[s])))
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  ID\tPACKAGE\tINSTALLED\tFIXED\tLAYER\tTITLE\n")
		for _, f := range findings {
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
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\n", f.ID, name, version, fixed, f.Layer, oneLine(f.Title, 60))
		}
		tw.Flush()
	}
}
