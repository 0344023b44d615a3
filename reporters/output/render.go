package output

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/imagegate/imagegate/report"

	"github.com/imagegate/imagegate/cyclonedx"
	"github.com/imagegate/imagegate/failure"
	jsonreport "github.com/imagegate/imagegate/reporters/json"
	"github.com/imagegate/imagegate/reporters/junit"
	"github.com/imagegate/imagegate/reporters/markdown"
	"github.com/imagegate/imagegate/reporters/openvex"
	"github.com/imagegate/imagegate/reporters/sarif"
	"github.com/imagegate/imagegate/reporters/table"
)

// Options are the reporters' settings that front ends pass through.
type Options struct {
	// Color and Packages tune the table.
	Color, Packages bool
	// SARIFCategory overrides the SARIF automation category.
	SARIFCategory string
}

// formats is the one list of report formats, in the order the help texts, the CI inputs
// (action.yml, task.json's pick list) and the README name them; tests hold those to it.
//
// several writes the results of several images as one report (several.go); a format
// without it writes a document per image.
var formats = []struct {
	name, label string // label: the Azure task's pick list
	render      func(io.Writer, *report.Result, Options) error
	several     func(io.Writer, []*report.Result, Options) error
}{
	{"table", "Table", func(w io.Writer, r *report.Result, o Options) error {
		return table.Write(w, r, table.Options{Color: o.Color, Packages: o.Packages})
	}, severalTables},
	{"json", "JSON", func(w io.Writer, r *report.Result, _ Options) error { return jsonreport.Write(w, r) }, nil},
	{"sarif", "SARIF", func(w io.Writer, r *report.Result, o Options) error {
		return sarif.Write(w, r, sarif.Options{Category: o.SARIFCategory})
	}, severalSARIF},
	{"markdown", "Markdown", func(w io.Writer, r *report.Result, _ Options) error { return markdown.Write(w, r, markdown.Options{}) }, severalMarkdown},
	{"junit", "JUnit", func(w io.Writer, r *report.Result, _ Options) error { return junit.Write(w, r) }, nil},
	{"cyclonedx", "CycloneDX", func(w io.Writer, r *report.Result, _ Options) error {
		return cyclonedx.Write(w, r, cyclonedx.Options{})
	}, nil},
	{"openvex", "OpenVEX", func(w io.Writer, r *report.Result, _ Options) error { return openvex.Write(w, r) }, nil},
}

// Formats lists the report formats, in their documented order.
func Formats() []string {
	out := make([]string, 0, len(formats))
	for _, f := range formats {
		out = append(out, f.name)
	}
	return out
}

// FormatLabel is a format's name as a pick list shows it ("" for none).
func FormatLabel(name string) string {
	for _, f := range formats {
		if f.name == name {
			return f.label
		}
	}
	return ""
}

// FormatList is the formats as a sentence says them: "table, json, ... or cyclonedx".
func FormatList() string {
	f := Formats()
	return strings.Join(f[:len(f)-1], ", ") + " or " + f[len(f)-1]
}

func renderer(name string) (func(io.Writer, *report.Result, Options) error, bool) {
	for _, f := range formats {
		if f.name == name {
			return f.render, true
		}
	}
	return nil, false
}

// CheckFormat refuses an unknown format name.
func CheckFormat(f string) error {
	if _, ok := renderer(f); !ok {
		return failure.Inputf("format %q: want one of %s", f, strings.Join(Formats(), ", "))
	}
	return nil
}

// Render writes r in format f.
func Render(w io.Writer, f string, r *report.Result, o Options) error {
	fn, ok := renderer(f)
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
