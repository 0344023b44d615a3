// Package policy turns findings into the gate's verdict: one decision for every output
// and front end.
package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/imagegate/imagegate/report"
)

// Policy is what the gate checks.
type Policy struct {
	// Threshold is the lowest severity that fails the gate.
	Threshold report.Severity
	// Unknown is how findings of UNKNOWN severity (advisories that carry none) are gated:
	// UnknownFail (the default: they count whatever the threshold), UnknownPass, or the
	// name of a level they count as ("high"). See ParseUnknown.
	Unknown string
	// FailOnIssues makes findings at or above the threshold fail the gate; without it the
	// gate reports them and passes.
	FailOnIssues bool
	// ReportAll keeps findings below the threshold in the reports, marked; without it they
	// are left out of every output.
	ReportAll bool
	// Ignores and VEX accept findings: they stay in reports as suppressed and do not count.
	Ignores []Ignore
	VEX     []*VEX
	// ImageIDs name the scanned image for VEX products (purl, reference), and
	// ImagePlatform says which platform of it was scanned.
	ImageIDs      []string
	ImagePlatform string
	// Now is the time expiry is judged at (zero: time.Now()).
	Now time.Time
	// AllowIncomplete lets a run that did not analyse everything pass on its findings
	// (the verdict says so); without it such a run fails the gate.
	AllowIncomplete bool
	// Baselines are earlier reports (LoadBaseline): findings the scanned image's baseline
	// holds already do not gate; new ones do. With one baseline and PerImage unset it is
	// the image's whatever its name (the default branch built app:main, the pull request
	// app:pr-7); with PerImage (a scan of several images) each image takes the one whose
	// report names the same image, and an image with none has every finding new.
	Baselines []*Baseline
	PerImage  bool
	// Reachability is how findings a Go binary does not link are decided: ReachGate (the
	// default, ""): set aside, not gating, counted in the verdict; ReachReport: marked
	// only; ReachOff: not marked.
	Reachability string
}

// Reachability settings.
const (
	ReachGate   = "gate"
	ReachReport = "report"
	ReachOff    = "off"
)

// ParseReachability checks a reachability setting.
func ParseReachability(s string) (string, error) {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "", ReachGate:
		return ReachGate, nil
	case ReachReport, ReachOff:
		return s, nil
	}
	return "", fmt.Errorf("reachability %q: want gate, report or off", s)
}

// Default is the policy when nothing is configured: fail on any finding.
var Default = Policy{Threshold: report.Low, FailOnIssues: true, Unknown: UnknownFail}

// How findings of unknown severity are gated, besides a level.
const (
	UnknownFail = "fail"
	UnknownPass = "pass"
)

// ParseUnknown reads the unknown-severity setting: fail, pass, or low, medium, high,
// critical (case-insensitive); "" is the default, fail.
func ParseUnknown(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "":
		return UnknownFail, nil
	case UnknownFail, UnknownPass:
		return s, nil
	}
	if sev, err := report.ParseSeverity(s); err == nil && sev != report.Unknown {
		return s, nil
	}
	return "", fmt.Errorf("unknown-severity %q: want fail, pass, low, medium, high or critical", s)
}

// Meets reports whether a finding of severity s meets the threshold.
func (p Policy) Meets(s report.Severity) bool {
	if s != report.Unknown {
		return s >= p.Threshold
	}
	switch p.Unknown {
	case UnknownFail, "":
		return true
	case UnknownPass:
		return false
	}
	as, _ := report.ParseSeverity(p.Unknown)
	return as >= p.Threshold
}

// Apply marks suppressed findings, filters (or marks) those below the threshold, and
// decides the verdict. The returned findings are what every report shows; warnings say
// which ignore entries have expired, and which matched no finding (a typo, or a finding
// fixed since: either way the entry says something that is not so).
func Apply(findings []report.Finding, p Policy) ([]report.Finding, report.Verdict, []string) {
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	var warnings []string
	var active []Ignore
	for _, ig := range p.Ignores {
		if ig.Expired(now) {
			warnings = append(warnings, fmt.Sprintf("ignore entry %s expired on %s and no longer applies", ig.Source, ig.Expires))
			continue
		}
		active = append(active, ig)
	}
	v := report.Verdict{Threshold: p.Threshold, FailOnIssues: p.FailOnIssues, Counts: map[string]int{}, UnknownSeverity: p.Unknown}
	if v.UnknownSeverity == "" {
		v.UnknownSeverity = UnknownFail
	}
	for s := report.Unknown; s <= report.Critical; s++ {
		v.Counts[s.String()] = 0
	}
	out := make([]report.Finding, 0, len(findings))
	matched := make([]bool, len(active))
	seen := map[string]bool{}
	baseline, warn := p.baseline()
	if warn != "" {
		warnings = append(warnings, warn)
	}
	if baseline != nil {
		v.Baseline = &report.BaselineVerdict{Source: baseline.Source}
	}
	for _, f := range findings {
		seen[f.Fingerprint] = true
		if p.Reachability == ReachOff {
			f.Reachability = nil
		}
		f.Suppressed, f.BelowThreshold = suppression(&f, firstMatch(active, matched, &f), p), false
		if !p.Meets(f.Severity) {
			if f.Severity == report.Unknown && f.Suppressed == nil {
				v.UnknownPassed++
			}
			if !p.ReportAll {
				continue
			}
			f.BelowThreshold = true
		}
		v.Counts[f.Severity.String()]++
		if baseline != nil && f.Suppressed == nil && !f.BelowThreshold {
			baseline.mark(&f, v.Baseline)
		}
		switch {
		case f.Suppressed != nil:
			v.Suppressed++
			if f.Suppressed.Kind == report.NotReachable {
				v.NotReachable++
			}
		case f.Gates():
			v.AtOrAboveThreshold++
			if f.Borrowed() {
				v.Borrowed++
			}
		}
		out = append(out, f)
	}
	if baseline != nil {
		v.Baseline.Fixed, v.Baseline.FixedIDs = baseline.gone(seen)
	}
	for i, ig := range active {
		if !matched[i] {
			warnings = append(warnings, fmt.Sprintf("ignore entry %s matched no finding in this scan: remove it if what it accepted is gone", ig.Source))
		}
	}
	v.Pass = !(p.FailOnIssues && v.AtOrAboveThreshold > 0)
	return out, v, warnings
}

// firstMatch tries every entry once on f, marks those that match (each says something
// true) and returns the first, which accepts it.
func firstMatch(active []Ignore, matched []bool, f *report.Finding) *Ignore {
	var accepted *Ignore
	for i := range active {
		if active[i].Matches(f) {
			matched[i] = true
			if accepted == nil {
				accepted = &active[i]
			}
		}
	}
	return accepted
}

// suppression is what accepts f: the ignore entry that matched it, else a VEX statement,
// else (reachability gate) its Go binary not linking the vulnerable code.
func suppression(f *report.Finding, ig *Ignore, p Policy) *report.Suppression {
	if ig != nil {
		return &report.Suppression{Kind: "ignore", Reason: ig.Reason, Source: ig.Source, Expires: ig.Expires}
	}
	if f.Kind == report.KindVulnerability {
		for _, doc := range p.VEX {
			if s, ok := doc.match(f, p.ImageIDs); ok {
				return s
			}
		}
	}
	if r := f.Reachability; r != nil && r.State == report.NotReachable && (p.Reachability == ReachGate || p.Reachability == "") {
		return &report.Suppression{Kind: report.NotReachable, Reason: r.Reason, Source: r.Binary}
	}
	return nil
}
