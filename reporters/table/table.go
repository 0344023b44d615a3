// Package table writes a scan result as readable text for a terminal.
package table

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/inventory"
)

// Options configures the table.
type Options struct {
	// Color turns on ANSI colour; set it only when writing to a terminal.
	Color bool
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
	}
	for _, eco := range order {
		pkgs := groups[eco]
		ew.printf("\n%s\n", st.bold(fmt.Sprintf("%s (%d packages)", eco, len(pkgs))))
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  NAME\tVERSION\tSOURCE\tLAYER\n")
		for _, p := range pkgs {
			src := "-"
			if p.SourceName != "" {
				src = p.SourceName
				if p.SourceVersion != "" && p.SourceVersion != p.Version {
					src += " " + p.SourceVersion
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\n", p.Name, p.Version, src, p.Layer)
		}
		tw.Flush()
	}
	for _, wmsg := range r.Warnings {
		ew.printf("\n%s %s", st.bold("warning:"), wmsg)
	}
	if len(r.Warnings) > 0 {
		ew.printf("\n")
	}
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
