// Package junit writes a scan result as JUnit XML for CI test-result tabs: one test suite
// per kind of finding, one failing test case per finding that meets the threshold, skipped
// cases for suppressed and below-threshold ones, and a gate test case.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/imagegate/imagegate/report"
)

type testSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Suites   []testSuite `xml:"testsuite"`
}

type testSuite struct {
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Cases    []testCase `xml:"testcase"`
}

type testCase struct {
	Name      string   `xml:"name,attr"`
	ClassName string   `xml:"classname,attr"`
	Failure   *failure `xml:"failure,omitempty"`
	Skipped   *skipped `xml:"skipped,omitempty"`
}

type failure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type skipped struct {
	Message string `xml:"message,attr"`
}

// Write renders r as JUnit XML.
func Write(w io.Writer, r *report.Result) error {
	target := "dockerfile"
	if r.Image != nil {
		target = r.Image.Label()
	} else if r.Dockerfile != "" {
		target = r.Dockerfile
	}
	suites := map[report.Kind]*testSuite{}
	var order []report.Kind
	for _, f := range r.Findings {
		s, ok := suites[f.Kind]
		if !ok {
			s = &testSuite{Name: "imagegate " + string(f.Kind) + " findings: " + target}
			suites[f.Kind] = s
			order = append(order, f.Kind)
		}
		tc := testCase{Name: caseName(f), ClassName: className(f)}
		switch {
		case f.Suppressed != nil:
			tc.Skipped = &skipped{Message: "suppressed (" + f.Suppressed.Kind + "): " + f.Suppressed.Reason}
			s.Skipped++
		case f.BelowThreshold:
			tc.Skipped = &skipped{Message: "below the severity threshold " + r.Verdict.Threshold.String()}
			s.Skipped++
		case f.Baseline == report.BaselineUnchanged:
			tc.Skipped = &skipped{Message: "already in the baseline report"}
			s.Skipped++
		default:
			tc.Failure = &failure{Message: summary(f), Type: f.Severity.String(), Body: details(f)}
			s.Failures++
		}
		s.Tests++
		s.Cases = append(s.Cases, tc)
	}
	doc := testSuites{Name: "imagegate"}
	for _, k := range order {
		doc.Suites = append(doc.Suites, *suites[k])
	}
	// A check that did not run is a skipped test, never a suite without failures.
	for _, k := range report.Kinds {
		if r.NotRun(k) {
			doc.Suites = append(doc.Suites, testSuite{Name: "imagegate " + string(k) + " findings: " + target, Tests: 1, Skipped: 1,
				Cases: []testCase{{Name: k.Title() + ": not run", ClassName: "imagegate." + string(k), Skipped: &skipped{Message: "not run"}}}})
		}
	}
	gate := testSuite{Name: "imagegate gate: " + target, Tests: 1}
	gc := testCase{Name: "no findings at or above " + r.Verdict.Threshold.String(), ClassName: "imagegate.gate"}
	if !r.Verdict.Pass {
		gc.Failure = &failure{Message: fmt.Sprintf("%d findings at or above %s (%s)", r.Verdict.AtOrAboveThreshold, r.Verdict.Threshold, r.Verdict.Note()), Type: "gate"}
		gate.Failures = 1
	}
	gate.Cases = []testCase{gc}
	doc.Suites = append(doc.Suites, gate)
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func caseName(f report.Finding) string {
	if f.Location != nil {
		return fmt.Sprintf("%s line %d: %s", f.ID, f.Location.StartLine, f.Title)
	}
	return fmt.Sprintf("%s: %s", f.ID, f.Title)
}

func className(f report.Finding) string {
	switch {
	case f.Package != nil:
		return fmt.Sprintf("%s.%s@%s", f.Package.Ecosystem, f.Package.Name, f.Package.Version)
	case f.Location != nil:
		return f.Location.Path
	}
	return string(f.Kind)
}

func summary(f report.Finding) string {
	if f.Message != "" {
		return fmt.Sprintf("%s %s: %s", f.Severity, f.ID, f.Message)
	}
	return fmt.Sprintf("%s %s in %s %s", f.Severity, f.ID, f.Package.Name, f.Package.Version)
}

func details(f report.Finding) string {
	var b strings.Builder
	if len(f.Aliases) > 0 {
		fmt.Fprintf(&b, "Identifiers: %s\n", strings.Join(f.IDs(), ", "))
	}
	if f.Package != nil {
		fmt.Fprintf(&b, "Package: %s %s (%s)\n", f.Package.Name, f.Package.Version, f.Package.Ecosystem)
		if len(f.FixedVersions) > 0 {
			fmt.Fprintf(&b, "Fixed in: %s\n", strings.Join(f.FixedVersions, ", "))
		} else {
			b.WriteString("Fixed in: no fix yet\n")
		}
	}
	if f.Rule != nil {
		fmt.Fprintf(&b, "Why: %s\nFix: %s\nSee: %s\n", f.Rule.Rationale, f.Rule.Fix, f.Rule.HelpURI)
	}
	for _, r := range f.References {
		fmt.Fprintf(&b, "Reference: %s\n", r)
	}
	return b.String()
}
