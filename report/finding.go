// Package report is the model every part of imagegate shares: what a scan found (Result,
// Finding of every kind, Package, OS, Layer, Verdict) and the tool's Version. It imports
// only the standard library, so reporters and front ends depend on it and never on the
// scanner that fills it.
package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Severity orders findings; Unknown sorts below Low.
type Severity int

// Severities.
const (
	Unknown Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

func (s Severity) String() string {
	if s < Unknown || s > Critical {
		return "UNKNOWN"
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return Unknown, fmt.Errorf("unknown severity %q: want low, medium, high or critical", name)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Kind says which check produced a finding.
type Kind string

// Kinds.
const (
	KindVulnerability Kind = "vulnerability"
	KindDockerfile    Kind = "dockerfile"
	KindImage         Kind = "image"
	KindSecret        Kind = "secret"
)

// Kinds lists every finding kind in the order reports show them; each report format
// shows each kind under its own heading (Title).
var Kinds = []Kind{KindVulnerability, KindDockerfile, KindImage, KindSecret}

// Title is the heading reports give findings of kind k.
func (k Kind) Title() string {
	switch k {
	case KindVulnerability:
		return "Vulnerabilities"
	case KindDockerfile:
		return "Dockerfile"
	case KindImage:
		return "Image configuration"
	case KindSecret:
		return "Secrets"
	}
	return string(k)
}

// ByKind splits findings by kind, keeping their order.
func ByKind(fs []Finding) map[Kind][]Finding {
	out := map[Kind][]Finding{}
	for _, f := range fs {
		out[f.Kind] = append(out[f.Kind], f)
	}
	return out
}

// Location is a place in a source file (a Dockerfile): 1-based lines and columns.
type Location struct {
	Path        string `json:"path"`
	StartLine   int    `json:"startLine"`
	EndLine     int    `json:"endLine"`
	StartColumn int    `json:"startColumn,omitempty"`
	EndColumn   int    `json:"endColumn,omitempty"`
}

// Rule describes a check that produces findings (a Dockerfile rule, an image check).
type Rule struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
	// Rationale says why it matters; Fix says what to do.
	Rationale string `json:"rationale"`
	Fix       string `json:"fix"`
	// HelpURI points at the rule's documentation.
	HelpURI string `json:"helpUri"`
	// Hadolint and Dockle name the equivalent rules of those tools, if any.
	Hadolint string `json:"hadolint,omitempty"`
	Dockle   string `json:"dockle,omitempty"`
}

// Score is a CVSS score computed from a vector.
type Score struct {
	Version string  `json:"version"` // "3.1", "4.0", ...
	Vector  string  `json:"vector"`
	Score   float64 `json:"score"`
	Source  string  `json:"source"` // the record the vector came from
	// Via is the shared identifier (a CVE, a GHSA) through which the score was taken from
	// another record, when the finding's own advisories carry none.
	Via string `json:"via,omitempty"`
}

// VendorRating is a distribution's own rating of an advisory (Debian urgency, Ubuntu
// priority, Red Hat and AlmaLinux severity, GitHub's severity), kept as written.
type VendorRating struct {
	Rating string `json:"rating"`
	Source string `json:"source"` // the record that rates it
}

// PackageRef names the package a finding is about.
type PackageRef struct {
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	Ecosystem string   `json:"ecosystem"`
	PURL      string   `json:"purl,omitempty"`
	Locations []string `json:"locations,omitempty"`
	// MatchedName and MatchedVersion are what the advisory names when it is not the
	// installed package itself: the source package (Debian, Ubuntu) or origin (Alpine).
	MatchedName    string `json:"matchedName,omitempty"`
	MatchedVersion string `json:"matchedVersion,omitempty"`
}

// Finding is one problem found.
type Finding struct {
	Kind Kind `json:"kind"`
	// ID is the primary identifier (a CVE when the advisories agree on one).
	ID string `json:"id"`
	// Aliases are the other identifiers of the same problem (advisory ids, CVEs).
	Aliases  []string `json:"aliases,omitempty"`
	Title    string   `json:"title,omitempty"`
	Severity Severity `json:"severity"`
	// SeveritySource says where the severity came from: "cvss" (the advisory's own
	// vector), "vendor" (the distribution's or database's rating), "alias" (the CVSS of
	// another imported record that shares an identifier), "distro" (the same
	// distribution's rating under another of its advisories) or "other-vendor" (another
	// vendor's rating of the same vulnerability), Vendor.Source naming the advisory; empty
	// when unknown. "alias", "distro" and "other-vendor" are borrowed (Borrowed).
	SeveritySource string `json:"severitySource,omitempty"`
	CVSS           *Score `json:"cvss,omitempty"`
	// Vendor is the advisory database's own rating, beside the CVSS.
	Vendor  *VendorRating `json:"vendorSeverity,omitempty"`
	Package *PackageRef   `json:"package,omitempty"`
	// FixedVersions lists the versions that fix the problem for this package; empty when
	// no fix is known.
	FixedVersions []string `json:"fixedVersions,omitempty"`
	// Layer is the index of the image layer the problem came from (-1: unknown).
	Layer      int      `json:"layer"`
	References []string `json:"references,omitempty"`
	// Message says what was found, specifically (rule findings).
	Message string `json:"message,omitempty"`
	// Location is where in a source file the finding is (a Dockerfile line).
	Location *Location `json:"location,omitempty"`
	// Rule is the check that produced a rule finding.
	Rule *Rule `json:"rule,omitempty"`
	// Suppressed says an ignore entry or a VEX statement accepted this finding: it stays in
	// reports, marked, and does not count for the gate.
	Suppressed *Suppression `json:"suppressed,omitempty"`
	// BelowThreshold marks a finding under the severity threshold kept by --report-all.
	BelowThreshold bool `json:"belowThreshold,omitempty"`
	// Baseline says, when the scan was compared with an earlier report (--baseline),
	// whether the finding is new or was there already ("unchanged": it does not gate).
	Baseline string `json:"baseline,omitempty"`
	// Reachability is set on vulnerabilities of Go binaries.
	Reachability *Reachability `json:"reachability,omitempty"`
	// Target is the path inside the image a finding is about (a file with a secret).
	Target string `json:"target,omitempty"`
	// Origin says whether the layer the finding came from belongs to the base image
	// ("base") or was added by the Dockerfile ("app"); empty when unknown. Instruction is
	// the history entry that made the layer; Inferred says the attribution is a best guess
	// (no Dockerfile, or one that does not match the image history).
	Origin      Origin `json:"origin,omitempty"`
	Instruction string `json:"instruction,omitempty"`
	Inferred    bool   `json:"inferred,omitempty"`
	// History is the image history entry a config-level finding comes from (the ENV that
	// set a variable, the USER, the EXPOSE), for attribution to its Dockerfile line; nil
	// when none.
	History *int `json:"-"`
	// Fingerprint identifies the finding across runs (SARIF partialFingerprints, PR
	// comment de-duplication): it does not change when versions change.
	Fingerprint string `json:"fingerprint"`
}

// Suppression says why a finding was accepted.
type Suppression struct {
	// Kind is "ignore" (an .imagegate.yaml entry), "vex" (an OpenVEX statement) or
	// "not-reachable" (a Go binary that does not link the vulnerable code: Reachability).
	Kind string `json:"kind"`
	// Reason is the ignore entry's reason, or the VEX status and justification.
	Reason string `json:"reason"`
	// Source is where the decision is written: file:line of the ignore entry, or the VEX
	// document and statement.
	Source string `json:"source"`
	// Expires is the ignore entry's expiry date (YYYY-MM-DD), if any.
	Expires string `json:"expires,omitempty"`
}

// Borrowed says whether the severity comes from another advisory than the finding's own.
func (f *Finding) Borrowed() bool {
	return f.SeveritySource == "alias" || f.SeveritySource == "distro" || f.SeveritySource == "other-vendor"
}

// Reachability states, for vulnerabilities of Go binaries (modules and the standard
// library): whether the binary links a vulnerable symbol. NotReachable is also the
// Suppression kind of a finding set aside for it.
const (
	Reachable    = "reachable"
	NotReachable = "not-reachable"
	ReachUnknown = "unknown"
)

// OpenVEX justifications of a not-reachable finding.
const (
	CodeNotPresent       = "vulnerable_code_not_present"         // the vulnerable package is not linked
	CodeNotInExecutePath = "vulnerable_code_not_in_execute_path" // linked, without its vulnerable symbols
)

// Reachability says whether a Go binary links the code a vulnerability is in, from the
// binary's function table and inline trees against the advisory's packages and symbols:
// reachable (a vulnerable symbol, or a wholly vulnerable package, is linked),
// not-reachable (with the evidence: the package is not linked, is linked without the
// vulnerable symbols, or the code is vulnerable only on other platforms) or unknown (no
// symbol data in the advisory, or the table could not be read).
type Reachability struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
	// Justification is OpenVEX's, for a not-reachable finding.
	Justification string `json:"justification,omitempty"`
	// Binary is the file whose table was read.
	Binary string `json:"binary,omitempty"`
	// Symbols are the vulnerable symbols linked (reachable) or checked and absent
	// (not-reachable), as package.Symbol.
	Symbols []string `json:"symbols,omitempty"`
}

// SeverityDetail says where a vulnerability's severity comes from: the CVSS score, its
// record (and the identifier it was borrowed through), and the vendor's rating; "" when
// there is neither.
func (f *Finding) SeverityDetail() string {
	var parts []string
	if c := f.CVSS; c != nil {
		s := fmt.Sprintf("CVSS %s %.1f (%s", c.Version, c.Score, c.Source)
		if c.Via != "" {
			s += " via " + c.Via
		}
		parts = append(parts, s+")")
	}
	if v := f.Vendor; v != nil {
		parts = append(parts, fmt.Sprintf("vendor: %s (%s)", v.Rating, v.Source))
	}
	return strings.Join(parts, "; ")
}

// IDs returns the finding's id and aliases.
func (f *Finding) IDs() []string { return append([]string{f.ID}, f.Aliases...) }

// Fixed reports whether a fix is known.
func (f *Finding) Fixed() bool { return len(f.FixedVersions) > 0 }

// FixText says where the vulnerability is fixed: "fixed in 1.2.6, 2.0.1", or "no fixed
// version yet".
func (f *Finding) FixText() string {
	if !f.Fixed() {
		return "no fixed version yet"
	}
	return "fixed in " + strings.Join(f.FixedVersions, ", ")
}

// MakeFingerprint hashes the parts that identify a finding.
func MakeFingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// Origin is where a finding's layer came from: the base image or the application.
type Origin string

const (
	OriginBase Origin = "base" // the base image's layers
	OriginApp  Origin = "app"  // the layers the Dockerfile added
)

// A finding's state against a baseline report (SARIF's baselineState values).
const (
	BaselineNew       = "new"
	BaselineUnchanged = "unchanged"
)

// Gates says whether the finding counts for the gate: not accepted, not below the
// threshold, and not already in the baseline.
func (f *Finding) Gates() bool {
	return f.Suppressed == nil && !f.BelowThreshold && f.Baseline != BaselineUnchanged
}
