// Package sarif writes a scan result as SARIF 2.1.0 (via go-sarif) for GitHub code
// scanning and the Azure DevOps SARIF tab: one rule per vulnerability or Dockerfile rule
// with full help, results with stable partial fingerprints and repository-relative
// locations, and an automation category so that several images in one repository do not
// overwrite each other.
package sarif

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	gosarif "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/imagegate/imagegate/report"
)

// InformationURI is imagegate's home page.
const InformationURI = "https://github.com/imagegate/imagegate"

// MaxResults keeps a run within what GitHub code scanning ingests (it keeps at most 5,000
// results per run, the most severe here).
const MaxResults = 5000

// FingerprintKey names imagegate's partial fingerprint.
const FingerprintKey = "imagegate/v1"

// Options configures the report.
type Options struct {
	// Category distinguishes runs for different images in one repository
	// (runAutomationDetails.id "<category>/"); default: derived from the image or Dockerfile.
	Category string
	// BaseDir is the repository root that locations are made relative to (default: the
	// working folder).
	BaseDir string
}

// SchemaURI is the SARIF 2.1.0 schema the logs name (go-sarif's: the OASIS final
// version, which GitHub's and Azure DevOps' ingestion rules ask for).
var SchemaURI = gosarif.NewReport().Schema

// Write renders r as SARIF.
func Write(w io.Writer, r *report.Result, o Options) error {
	return WriteRuns(w, []Run{{Result: r, Options: o}})
}

// Run is one image's result and its options (its category above all).
type Run struct {
	Result  *report.Result
	Options Options
}

// WriteRuns renders several results as one SARIF log, a run each: a registry scan's
// images, each under its own category.
func WriteRuns(w io.Writer, runs []Run) error {
	rep := gosarif.NewReport()
	for _, r := range runs {
		rep.AddRun(buildRun(r.Result, r.Options))
	}
	var buf bytes.Buffer
	if err := rep.Write(&buf); err != nil {
		return err
	}
	return writeCompact(w, buf.Bytes())
}

func buildRun(r *report.Result, o Options) *gosarif.Run {
	run := gosarif.NewRunWithInformationURI("imagegate", InformationURI)
	driver := run.Tool.Driver
	driver.Version = strptr(report.Version)
	driver.SemanticVersion = nil
	driver.FullName = strptr("imagegate container image security gate")
	run.Tool.Extensions = []*gosarif.ToolComponent{}
	run.ColumnKind = strptr("unicodeCodePoints")

	findings := r.Findings
	truncated := 0
	if len(findings) > MaxResults {
		truncated = len(findings) - MaxResults
		findings = findings[:MaxResults] // most severe first
	}
	category := o.Category
	if category == "" {
		category = DefaultCategory(r)
	}
	run.AutomationDetails = gosarif.NewRunAutomationDetails().WithID(category + "/")
	run.WithProperties(runProperties(r, truncated))
	if len(r.Incomplete) > 0 {
		// What the scan did not analyse: the run's analysis did not complete.
		inv := gosarif.NewInvocation().WithExecutionSuccessful(false)
		for _, w := range r.Incomplete {
			inv.AddToolExecutionNotification(gosarif.NewNotification().WithLevel("error").WithMessage(gosarif.NewTextMessage("not analysed: " + w)))
		}
		run.WithInvocations([]*gosarif.Invocation{inv})
	}

	for _, f := range findings {
		run.AddResult(result(run, f, r, o))
	}
	if run.Results == nil {
		run.Results = []*gosarif.Result{}
	}
	return run
}

// runProperties are the run's: the image, the verdict's gate, and the checks that ran.
func runProperties(r *report.Result, truncated int) *gosarif.PropertyBag {
	props := gosarif.NewPropertyBag()
	if r.Image != nil {
		props.Add("image", r.Image.Label())
		if r.Image.Digest != "" {
			props.Add("imageDigest", r.Image.Digest)
		}
		props.Add("imageId", r.Image.ID)
	}
	if truncated > 0 {
		props.Add("truncatedResults", truncated)
	}
	props.Add("pass", r.Verdict.Pass)
	props.Add("severityThreshold", r.Verdict.Threshold.String())
	props.Add("unknownSeverity", r.Verdict.UnknownSeverity)
	props.Add("unknownPassed", r.Verdict.UnknownPassed)
	// The checks that ran: a kind not listed was not run, so its absence of results is
	// not "none found".
	checks := make([]string, 0, len(r.Verdict.Checks))
	for _, k := range r.Verdict.Checks {
		checks = append(checks, string(k))
	}
	props.Add("checks", checks)
	return props
}

// result is one finding's result, its rule added to the run the first time it is used.
func result(run *gosarif.Run, f report.Finding, r *report.Result, o Options) *gosarif.Result {
	ruleID := ruleIDOf(f)
	if run.GetRuleIndex(ruleID) < 0 {
		addRule(run, ruleID, f)
	}
	res := gosarif.NewRuleResult(ruleID).
		WithRuleIndex(run.GetRuleIndex(ruleID)).
		WithLevel(level(f.Severity)).
		WithMessage(gosarif.NewTextMessage(message(f))).
		WithPartialFingerprints(map[string]string{FingerprintKey: f.Fingerprint}).
		AddLocation(location(f, r, o.BaseDir))
	if f.Suppressed != nil {
		s := gosarif.NewSuppression()
		s.Kind = strptr("external")
		s.Status = strptr("accepted")
		s.Justification = strptr(f.Suppressed.Reason + " (" + f.Suppressed.Source + ")")
		res.AddSuppression(s)
	}
	if f.Baseline != "" {
		res.WithBaselineState(f.Baseline) // SARIF's own: new, unchanged
	}
	rp := gosarif.NewPropertyBag()
	rp.Add("severity", f.Severity.String())
	if f.SeveritySource != "" {
		rp.Add("severitySource", f.SeveritySource) // alias, other-vendor: borrowed
	}
	if f.BelowThreshold {
		rp.Add("belowThreshold", true)
	}
	if f.Layer >= 0 {
		rp.Add("layer", f.Layer)
	}
	if r := f.Reachability; r != nil {
		rp.Add("reachability", r.State) // reachable, not-reachable, unknown
		rp.Add("reachabilityReason", r.Reason)
	}
	return res.WithProperties(rp)
}

// defaultValued are properties go-sarif always writes whose value -1 is the SARIF
// default ("not set"): leaving them out keeps reports small (GitHub takes 10 MB at most)
// and quiets the multitool's SARIF2004.
var defaultValued = map[string]bool{"index": true, "id": true, "rank": true, "byteOffset": true, "charOffset": true}

// writeCompact drops empty arrays and objects and -1 defaults, then indents.
func writeCompact(w io.Writer, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(compact(doc))
}

func compact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			val = compact(val)
			switch y := val.(type) {
			case []any:
				if len(y) == 0 && k != "results" {
					delete(x, k)
					continue
				}
			case map[string]any:
				if len(y) == 0 {
					delete(x, k)
					continue
				}
			case json.Number:
				if defaultValued[k] && y.String() == "-1" {
					delete(x, k)
					continue
				}
			case nil:
				delete(x, k)
				continue
			}
			x[k] = val
		}
		return x
	case []any:
		for i := range x {
			x[i] = compact(x[i])
		}
		return x
	}
	return v
}

var unsafeCategory = regexp.MustCompile(`[^A-Za-z0-9._/-]+`)

// DefaultCategory derives a stable category from the image name without tag or digest
// (so each image keeps its own alert history) or from the Dockerfile path.
func DefaultCategory(r *report.Result) string {
	switch {
	case r.Image != nil:
		name := r.Image.Repository
		switch {
		case r.Image.Transport == report.TransportRegistry:
		case name != "": // a daemon image: its last path element, as for archives
			name = filepath.Base(name)
		default: // an archive (PATH, or PATH@REPO:TAG for one image of several)
			path, _, _ := strings.Cut(r.Image.Name, "@")
			name = filepath.Base(path)
		}
		return "imagegate/image/" + strings.Trim(unsafeCategory.ReplaceAllString(name, "-"), "-")
	case r.Dockerfile != "":
		return "imagegate/dockerfile/" + strings.Trim(unsafeCategory.ReplaceAllString(filepath.ToSlash(filepath.Clean(r.Dockerfile)), "-"), "-")
	}
	return "imagegate"
}

func ruleIDOf(f report.Finding) string {
	if f.Rule != nil {
		return f.Rule.ID
	}
	return f.ID
}

func strptr(s string) *string { return &s }

// level maps severity to SARIF levels: critical and high are errors, medium warnings,
// low and unknown notes.
func level(s report.Severity) string {
	switch s {
	case report.Critical, report.High:
		return "error"
	case report.Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is GitHub's numeric severity: the CVSS score when there is one, else
// a value inside the band of the severity.
func securitySeverity(f report.Finding) string {
	if f.CVSS != nil {
		return fmt.Sprintf("%.1f", f.CVSS.Score)
	}
	switch f.Severity {
	case report.Critical:
		return "9.5"
	case report.High:
		return "8.0"
	case report.Medium:
		return "5.5"
	case report.Low:
		return "2.0"
	}
	return "0.0"
}

func message(f report.Finding) string {
	if f.Kind == report.KindVulnerability && f.Package != nil {
		fix := f.FixText()
		layer := ""
		if f.Layer >= 0 {
			layer = fmt.Sprintf(", layer %d", f.Layer)
		}
		sev := f.Severity.String()
		if d := f.SeverityDetail(); d != "" {
			sev += "; " + d
		}
		return fmt.Sprintf("%s %s (%s) is affected by %s (%s): %s%s.", f.Package.Name, f.Package.Version, f.Package.Ecosystem, f.ID, sev, fix, layer)
	}
	if f.Message != "" {
		return f.Message
	}
	return f.Title
}

func addRule(run *gosarif.Run, id string, f report.Finding) {
	rule := run.AddRule(id)
	props := gosarif.NewPropertyBag()
	props.Add("security-severity", securitySeverity(f))
	props.AddTag("security")
	props.AddTag(string(f.Kind))
	var short, full, text, md string
	switch {
	case f.Rule != nil:
		r := f.Rule
		short = r.Title
		full = r.Title + ". " + r.Rationale
		text = fmt.Sprintf("%s\n\nWhy: %s\n\nFix: %s\n\nDocumentation: %s", r.Title, r.Rationale, r.Fix, r.HelpURI)
		md = fmt.Sprintf("**%s** (%s)\n\n**Why:** %s\n\n**How to fix:** %s\n\n[Rule documentation](%s)", r.Title, r.ID, r.Rationale, r.Fix, r.HelpURI)
		if r.Hadolint != "" {
			md += fmt.Sprintf(" · hadolint %s", r.Hadolint)
		}
		rule.WithHelpURI(r.HelpURI)
	default:
		title := f.Title
		if title == "" {
			title = f.ID
		}
		short = title
		eco := ""
		if f.Package != nil {
			eco = f.Package.Ecosystem
			props.AddTag(strings.SplitN(eco, ":", 2)[0])
		}
		full = fmt.Sprintf("%s (%s)", title, strings.Join(f.IDs(), ", "))
		fix := "No fixed version is known yet: watch the advisory, or mitigate and accept the risk with an ignore entry or a VEX statement."
		if len(f.FixedVersions) > 0 {
			fix = "Upgrade the package to " + strings.Join(f.FixedVersions, " or ") + " or later (rebuild on a newer base image if the package comes from it)."
		}
		cvss := ""
		if f.CVSS != nil {
			cvss = fmt.Sprintf("CVSS %s %.1f (%s)", f.CVSS.Version, f.CVSS.Score, f.CVSS.Vector)
		}
		var refs []string
		for _, u := range f.References {
			refs = append(refs, "- "+u)
		}
		text = fmt.Sprintf("%s\n\nIdentifiers: %s\nSeverity: %s %s\nEcosystem: %s\n\nFix: %s\n\nReferences:\n%s", title, strings.Join(f.IDs(), ", "), f.Severity, cvss, eco, fix, strings.Join(refs, "\n"))
		md = fmt.Sprintf("**%s**\n\n| | |\n|---|---|\n| Identifiers | %s |\n| Severity | %s %s |\n| Ecosystem | %s |\n\n**How to fix:** %s\n\n**References**\n\n%s",
			mdEscape(title), strings.Join(f.IDs(), ", "), f.Severity, cvss, eco, fix, strings.Join(refs, "\n"))
		if len(f.References) > 0 {
			rule.WithHelpURI(f.References[0])
		}
	}
	rule.WithName(ruleName(short))
	rule.WithShortDescription(gosarif.NewMultiformatMessageString().WithText(short))
	rule.WithFullDescription(gosarif.NewMultiformatMessageString().WithText(full))
	rule.WithHelp(gosarif.NewMultiformatMessageString().WithText(text).WithMarkdown(md))
	rule.WithProperties(props)
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// ruleName is a PascalCase identifier made from the title, as SARIF suggests for
// reportingDescriptor.name.
func ruleName(title string) string {
	var b strings.Builder
	for _, p := range nonWord.Split(title, -1) {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

func mdEscape(s string) string { return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s) }

var unsafePath = regexp.MustCompile(`[^A-Za-z0-9._/-]+`)

// location is the Dockerfile line for rule findings, else a stable pseudo-path inside the
// image (no ':' so that code scanning treats it as a repository path).
func location(f report.Finding, r *report.Result, base string) *gosarif.Location {
	uri, region := "", gosarif.NewRegion().WithStartLine(1)
	if f.Location != nil {
		uri = repoRelative(f.Location.Path, base)
		region = gosarif.NewRegion().WithStartLine(f.Location.StartLine).WithEndLine(f.Location.EndLine)
		if f.Location.StartColumn > 0 {
			region.WithStartColumn(f.Location.StartColumn)
		}
		if f.Location.EndColumn > 0 {
			region.WithEndColumn(f.Location.EndColumn)
		}
	} else {
		img := "image"
		if r.Image != nil {
			img = strings.TrimPrefix(DefaultCategory(r), "imagegate/image/")
		}
		loc := "unknown"
		if f.Package != nil && len(f.Package.Locations) > 0 {
			loc = f.Package.Locations[0]
		}
		uri = unsafePath.ReplaceAllString(img+"/"+strings.TrimPrefix(loc, "/"), "-")
	}
	al := gosarif.NewArtifactLocation().WithURI(uri)
	if f.Location != nil {
		al.WithURIBaseID("%SRCROOT%")
	}
	return gosarif.NewLocationWithPhysicalLocation(gosarif.NewPhysicalLocation().WithArtifactLocation(al).WithRegion(region))
}

// repoRelative makes an absolute p relative to base (default: the working folder), with
// slashes; a relative p is already relative to where the scan ran.
func repoRelative(p, base string) string {
	if !filepath.IsAbs(p) {
		return strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "./")
	}
	if base == "" {
		base = "."
	}
	absBase, err1 := filepath.Abs(base)
	absP, err2 := filepath.Abs(p)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(absBase, absP); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "/")
}
