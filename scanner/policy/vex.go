package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/jsonstream"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// VEX is a loaded OpenVEX document: the statements that can settle a finding
// (not_affected, fixed), found by vulnerability id.
type VEX struct {
	Path       string
	statements []statement
	// byID lists, for each vulnerability name, @id and alias, the statements naming it,
	// in document order.
	byID map[string][]int
}

// statement is a statement and its 1-based place in the document.
type statement struct {
	vex.Statement
	n int
}

// MaxVEXSize bounds an OpenVEX document.
const MaxVEXSize = 32 << 20

// LoadVEX reads an OpenVEX document, a statement at a time (the text is read whole: at
// its cap, 32 MiB). A malformed one is an input
// error that names the file and, for JSON syntax errors, the line.
func LoadVEX(path string) (*VEX, error) {
	data, err := userfile.Read(path, "vex", MaxVEXSize)
	if err != nil {
		return nil, err
	}
	v := &VEX{Path: path, byID: map[string][]int{}}
	var context string
	n := 0
	err = jsonstream.Object(json.NewDecoder(bytes.NewReader(data)), func(dec *json.Decoder, key string) error {
		switch key {
		case "@context":
			return dec.Decode(&context)
		case "statements":
			return jsonstream.Array(dec, func(dec *json.Decoder) error {
				n++
				var st vex.Statement
				if err := dec.Decode(&st); err != nil {
					return err
				}
				if err := st.Validate(); err != nil {
					return &statementError{n: n, name: string(st.Vulnerability.Name), err: err}
				}
				v.add(statement{st, n})
				return nil
			})
		}
		var skip json.RawMessage
		return dec.Decode(&skip)
	})
	var se *statementError
	var syntax error
	if err != nil {
		syntax = json.Unmarshal(data, new(json.RawMessage)) // checks the text alone, with its offset
	}
	switch {
	case errors.As(err, &se):
		return nil, failure.Inputf("vex %s: statement %d (%s): %v", path, se.n, se.name, failure.OneLine(se.err.Error()))
	case syntax != nil:
		return nil, failure.Inputf("vex %s:%d: not valid JSON: %w", path, jsonErrorLine(data, syntax), syntax)
	case err != nil:
		return nil, failure.Inputf("vex %s: not an OpenVEX document: %v", path, failure.OneLine(err.Error()))
	case !strings.Contains(context, "openvex"):
		return nil, failure.Inputf("vex %s: not an OpenVEX document (no openvex @context)", path)
	}
	return v, nil
}

// add keeps a statement that can settle a finding, under each of its vulnerability's ids.
func (v *VEX) add(st statement) {
	if st.Status != vex.StatusNotAffected && st.Status != vex.StatusFixed {
		return
	}
	i := len(v.statements)
	v.statements = append(v.statements, st)
	ids := []string{string(st.Vulnerability.Name), st.Vulnerability.ID}
	for _, a := range st.Vulnerability.Aliases {
		ids = append(ids, string(a))
	}
	for _, id := range ids {
		if l := v.byID[id]; id != "" && (len(l) == 0 || l[len(l)-1] != i) {
			v.byID[id] = append(l, i)
		}
	}
}

type statementError struct {
	n    int
	name string
	err  error
}

func (e *statementError) Error() string { return e.err.Error() }

// jsonErrorLine turns a JSON decoding error's byte offset into a 1-based line.
func jsonErrorLine(data []byte, err error) int {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return 1
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// match finds the statement that settles f: a not_affected or fixed statement for one of
// its ids, about the image (product) or the package (product or subcomponent).
func (v *VEX) match(f *report.Finding, imageIDs []string) (*report.Suppression, bool) {
	var pkgs []string
	if f.Package != nil {
		pkgs = purlForms(f.Package.PURL)
	}
	for _, pkg := range append(pkgs, "") {
		if s, ok := v.matchPackage(f, pkg, imageIDs); ok {
			return s, true
		}
	}
	return nil, false
}

// purlForms are the spellings a VEX document may use for a package URL: as imagegate
// writes it, and for Go modules with or without the "v" of the version (syft and Trivy
// write v1.7.7; older tools and documents 1.7.7).
func purlForms(p string) []string {
	if p == "" {
		return nil
	}
	out := []string{p}
	if rest, ok := strings.CutPrefix(p, "pkg:golang/"); ok {
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			v := rest[i+1:]
			if t, ok := strings.CutPrefix(v, "v"); ok && t != "" && t[0] >= '0' && t[0] <= '9' {
				out = append(out, "pkg:golang/"+rest[:i+1]+t)
			} else if v != "" && v[0] >= '0' && v[0] <= '9' {
				out = append(out, "pkg:golang/"+rest[:i+1]+"v"+v)
			}
		}
	}
	return out
}

func (v *VEX) matchPackage(f *report.Finding, pkg string, imageIDs []string) (*report.Suppression, bool) {
	for _, id := range f.IDs() {
		for _, i := range v.byID[id] {
			st := &v.statements[i]
			hit := len(st.Products) == 0 && st.Vulnerability.Matches(id)
			for _, product := range append([]string{pkg}, imageIDs...) {
				if product == "" || hit {
					continue
				}
				var subs []string
				if pkg != "" && product != pkg {
					subs = []string{pkg}
				}
				hit = st.Matches(id, product, subs)
			}
			if !hit {
				continue
			}
			reason := string(st.Status)
			if st.Justification != "" {
				reason += ": " + string(st.Justification)
			}
			if st.ImpactStatement != "" {
				reason += " (" + st.ImpactStatement + ")"
			}
			src := v.Path
			if st.ID != "" {
				src += "#" + st.ID
			} else {
				src += fmt.Sprintf(" statement %d", st.n)
			}
			return &report.Suppression{Kind: "vex", Reason: reason, Source: src}, true
		}
	}
	return nil, false
}
