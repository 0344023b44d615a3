// Package openvex writes what a scan showed not to affect the image as an OpenVEX
// document: a not_affected statement for every vulnerability whose Go binary does not link
// the vulnerable code (report.Reachability), so that any VEX-aware tool (and imagegate's
// own --vex) can take the evidence.
package openvex

import (
	"fmt"
	"io"
	"strings"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/imagegate/imagegate/report"
)

// Author names imagegate as the documents' author.
const Author = "imagegate"

// Write renders r's not-reachable findings as OpenVEX 0.2.0. Each statement names the
// vulnerability (its id and aliases), the product (the image by its OCI purl with its
// digest) with the Go module or standard library as the subcomponent, the status
// not_affected and the justification (vulnerable_code_not_present: the package is not
// linked; vulnerable_code_not_in_execute_path: it is linked without the vulnerable
// symbols), and an impact statement naming the binary read and the symbols checked.
func Write(w io.Writer, r *report.Result) error {
	doc := vex.New()
	doc.Author = Author
	doc.Tooling = "imagegate " + report.Version
	product := ""
	if r.Image != nil {
		product = r.Image.PURL
	}
	for _, f := range r.Findings {
		rr := f.Reachability
		if f.Kind != report.KindVulnerability || rr == nil || rr.State != report.NotReachable || f.Package == nil || f.Package.PURL == "" {
			continue
		}
		pr := vex.Product{Component: vex.Component{ID: product}, Subcomponents: []vex.Subcomponent{{Component: vex.Component{ID: f.Package.PURL}}}}
		if product == "" { // no image (an SBOM without a digest): the package is the product
			pr = vex.Product{Component: vex.Component{ID: f.Package.PURL}}
		}
		st := vex.Statement{
			Vulnerability:   vex.Vulnerability{Name: vex.VulnerabilityID(f.ID)},
			Products:        []vex.Product{pr},
			Status:          vex.StatusNotAffected,
			Justification:   vex.Justification(rr.Justification),
			ImpactStatement: impact(rr),
		}
		for _, a := range f.Aliases {
			st.Vulnerability.Aliases = append(st.Vulnerability.Aliases, vex.VulnerabilityID(a))
		}
		doc.Statements = append(doc.Statements, st)
	}
	id, err := doc.GenerateCanonicalID()
	if err != nil {
		return fmt.Errorf("openvex: %w", err)
	}
	doc.ID = id
	return doc.ToJSON(w)
}

func impact(rr *report.Reachability) string {
	n := "imagegate read the function table and inline trees of " + rr.Binary + ": " + rr.Reason
	if len(rr.Symbols) > 0 && !strings.Contains(rr.Reason, "checked") {
		n += " (symbols checked: " + strings.Join(rr.Symbols, ", ") + ")"
	}
	return n
}
