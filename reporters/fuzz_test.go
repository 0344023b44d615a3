package reporters_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
)

// FuzzReports renders a result whose strings are arbitrary (ids, titles, messages,
// package names, paths, lines) in every format: never a panic; the JSON-based formats are
// valid JSON, and the JSON report gives the id back.
func FuzzReports(f *testing.F) {
	f.Add("CVE-2021-44906", "Prototype Pollution in minimist", "minimist", "1.2.5", "Dockerfile", 3)
	f.Add("DF001", "<script>\x00]]>", "@scope/pkg", "1.0.0-rc.1+meta", "a b/c\\d.txt", -1)
	f.Add("\xff\xfe", "`|*_#", "", "", "", 0)
	f.Fuzz(func(t *testing.T, id, title, name, version, path string, line int) {
		fd := report.Finding{
			Kind: report.KindVulnerability, ID: id, Title: title, Message: title, Severity: report.High,
			Package:       &report.PackageRef{Name: name, Version: version, Ecosystem: "npm", Locations: []string{path}},
			FixedVersions: []string{version},
			Fingerprint:   "0123456789abcdef",
		}
		if path != "" {
			fd.Location = &report.Location{Path: path, StartLine: line, EndLine: line}
		}
		res := &report.Result{
			Image:    &report.ImageInfo{Name: path, Transport: "registry", ID: "sha256:" + id},
			Findings: []report.Finding{fd},
		}
		for _, format := range output.Formats() {
			var buf bytes.Buffer
			if err := output.Render(&buf, format, res, output.Options{}); err != nil {
				continue // a refusal is fine; a panic is not
			}
			switch format {
			case "json", "sarif", "cyclonedx":
				if !json.Valid(buf.Bytes()) {
					t.Fatalf("%s: not valid JSON", format)
				}
			}
			if format == "json" && utf8.ValidString(id) {
				var back struct{ Findings []struct{ ID string } }
				if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Findings) != 1 || back.Findings[0].ID != id {
					t.Fatalf("json: id %q did not come back (%v)", id, err)
				}
			}
		}
	})
}
