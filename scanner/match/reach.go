package match

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// reachability decides whether the Go binary a package was read from links the code the
// advisories of one vulnerability name (their ecosystem_specific.imports), with
// govulncheck's binary-mode semantics: an import on other platforms does not apply; one
// whose package is not linked is absent; one with no symbols is the whole package; one
// with symbols is reachable when any of them is linked (functions and inlined functions
// alike). Reachable when any import is; not-reachable, with its evidence, when none is;
// unknown when there is no symbol data or no table. nil for packages that are not Go.
func reachability(p report.Package, binary string, group []hit) *report.Reachability {
	if ecosystem.Base(p.Ecosystem) != "Go" {
		return nil
	}
	r := &report.Reachability{State: report.ReachUnknown, Binary: binary}
	var imports []vulndb.GoImport
	for _, h := range group {
		imports = append(imports, h.imports...)
	}
	switch {
	case p.Linked == nil && p.LinkedError != "":
		r.Reason = "the binary's " + p.LinkedError
		return r
	case p.Linked == nil:
		r.Reason = "the package was not read from a Go binary in this scan (an SBOM, a cached layer): its functions are not known"
		return r
	case len(imports) == 0:
		r.Reason = "the advisory names no vulnerable packages or symbols"
		return r
	}
	goos, goarch := p.Linked.Platform()
	var found, absentSyms, notLinked, otherPlatform []string
	for _, im := range imports {
		if !onPlatform(im.GOOS, goos) || !onPlatform(im.GOARCH, goarch) {
			otherPlatform = append(otherPlatform, im.Path)
			continue
		}
		if !p.Linked.HasPackage(im.Path) {
			notLinked = append(notLinked, im.Path)
			continue
		}
		if len(im.Symbols) == 0 {
			found = append(found, im.Path) // the whole package is vulnerable, and linked
			continue
		}
		for _, s := range im.Symbols {
			if p.Linked.Has(im.Path, s) {
				found = append(found, im.Path+"."+s)
			} else {
				absentSyms = append(absentSyms, im.Path+"."+s)
			}
		}
	}
	switch {
	case len(found) > 0:
		r.State, r.Symbols = report.Reachable, compact(found)
		r.Reason = "the binary links " + list(r.Symbols)
	case len(absentSyms) > 0:
		r.State, r.Justification, r.Symbols = report.NotReachable, report.CodeNotInExecutePath, compact(absentSyms)
		r.Reason = "the vulnerable package is linked without its vulnerable symbols (" + list(r.Symbols) + " checked)"
	case len(notLinked) > 0:
		r.State, r.Justification = report.NotReachable, report.CodeNotPresent
		notLinked = compact(notLinked)
		r.Reason = "the vulnerable package " + list(notLinked) + " is not linked"
		if len(notLinked) > 1 {
			r.Reason = "the vulnerable packages " + list(notLinked) + " are not linked"
		}
	default:
		r.State, r.Justification = report.NotReachable, report.CodeNotPresent
		r.Reason = fmt.Sprintf("vulnerable only on other platforms (%s); the binary is %s/%s", list(compact(otherPlatform)), goos, goarch)
	}
	return r
}

// onPlatform says whether an import's platform list takes the binary's (an empty list,
// or a binary that does not say, does).
func onPlatform(list []string, v string) bool {
	return len(list) == 0 || v == "" || slices.Contains(list, v)
}

func compact(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// list names at most 8 items.
func list(s []string) string {
	if len(s) > 8 {
		return strings.Join(s[:8], ", ") + fmt.Sprintf(" and %d more", len(s)-8)
	}
	return strings.Join(s, ", ")
}
