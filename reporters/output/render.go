package output

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/imagegate/imagegate/report"

	"github.com/imagegate/imagegate/reporters/cyclonedx"
	jsonreport "github.com/imagegate/imagegate/reporters/json"
	"github.com/imagegate/imagegate/reporters/junit"
	"github.com/imagegate/imagegate/reporters/markdown"
	"github.com/imagegate/imagegate/reporters/sarif"
	"github.com/imagegate/imagegate/reporters/table"
	"github.com/imagegate/imagegate/scanner/failure"
)

// Options are the reporters' settings that front ends pass through.
type Options struct {
	// Color and Packages tune the table.
	Color, Packages bool
	// SARIFCategory overrides the SARIF automation category.
	SARIFCategory string
}

var renderers = map[string]func(io.Writer, *report.Result, Options) error{
	"table": func(w io.Writer, r *report.Result, o Options) error {
		return table.Write(w, r, table.Options{Color: o.Color, Packages: o.Packages})
	},
	"json": func(w io.Writer, r *report.Result, _ Options) error { return jsonreport.Write(w, r) },
	"sarif": func(w io.Writer, r *report.Result, o Options) error {
		return sarif.Write(w, r, sarif.Options{Category: o.SARIFCategory})
	},
	"markdown": func(w io.Writer, r *report.Result, _ Options) error { return markdown.Write(w, r, markdown.Options{}) },
	"junit":    func(w io.Writer, r *report.Result, _ Options) error { return junit.Write(w, r) },
	"cyclonedx": func(w io.Writer, r *report.Result, _ Options) error {
		return cyclonedx.Write(w, r, cyclonedx.Options{})
	},
}

// Formats lists the report formats.
func Formats() []string {
	out := make([]string, 0, len(renderers))
	for f := range renderers {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// CheckFormat refuses an unknown format name.
func CheckFormat(f string) error {
	if _, ok := renderers[f]; !ok {
		return failure.Inputf("format %q: want one of %s", f, strings.Join(Formats(), ", "))
	}
	return nil
}

// Render writes r in format f.
func Render(w io.Writer, f string, r *report.Result, o Options) error {
	fn, ok := renderers[f]
	if !ok {
		return CheckFormat(f)
	}
	return fn(w, r, o)
}

// Buffered runs write on w through a 64 KiB buffer: reporters write line by line, and a
// table of thousands of findings was as many write calls to a file or a terminal. (Not for
// a CI log: its writers see the text line by line, as reporters write it.)
func Buffered(w io.Writer, write func(io.Writer) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

var formatWord = regexp.MustCompile(`^[a-z]+$`)

// Spec is one --output: a format and a file.
type Spec struct {
	Format, Path string
}

// ParseSpec reads FORMAT=FILE, or FILE alone (written in defaultFormat), and checks the
// format and that the file's folder exists.
func ParseSpec(s, defaultFormat string) (Spec, error) {
	sp := Spec{Format: defaultFormat, Path: s}
	if f, p, ok := strings.Cut(s, "="); ok && formatWord.MatchString(f) {
		sp = Spec{Format: f, Path: p}
	}
	if sp.Path == "" {
		return sp, failure.Inputf("--output %q: no file name", s)
	}
	if err := CheckFormat(sp.Format); err != nil {
		return sp, fmt.Errorf("--output %q: %w", s, err)
	}
	return sp, Check(sp.Path)
}
