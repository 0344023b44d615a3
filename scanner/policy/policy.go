// Package policy turns findings into the gate's verdict: one decision for every output
// and front end.
package policy

import (
	"github.com/imagegate/imagegate/scanner/finding"
)

// Policy is what the gate checks.
type Policy struct {
	// Threshold is the lowest severity that fails the gate. Findings of UNKNOWN severity
	// (advisories that carry none) fail only at the lowest threshold, LOW.
	Threshold finding.Severity
	// FailOnIssues makes findings at or above the threshold fail the gate; without it the
	// gate reports them and passes.
	FailOnIssues bool
}

// Default is the policy when nothing is configured: fail on any finding.
var Default = Policy{Threshold: finding.Low, FailOnIssues: true}

// Verdict is the gate's decision.
type Verdict struct {
	// Pass is false when findings at or above the threshold exist and FailOnIssues is on.
	Pass bool `json:"pass"`
	// Threshold and FailOnIssues echo the policy.
	Threshold    finding.Severity `json:"threshold"`
	FailOnIssues bool             `json:"failOnIssues"`
	// AtOrAboveThreshold counts the findings that meet the threshold.
	AtOrAboveThreshold int `json:"atOrAboveThreshold"`
	// Counts are the findings per severity.
	Counts map[string]int `json:"counts"`
}

// Meets reports whether a finding of severity s meets the threshold.
func (p Policy) Meets(s finding.Severity) bool {
	if s == finding.Unknown {
		return p.Threshold <= finding.Low
	}
	return s >= p.Threshold
}

// Evaluate decides the verdict for findings.
func Evaluate(findings []finding.Finding, p Policy) Verdict {
	v := Verdict{Threshold: p.Threshold, FailOnIssues: p.FailOnIssues, Counts: map[string]int{}}
	for s := finding.Unknown; s <= finding.Critical; s++ {
		v.Counts[s.String()] = 0
	}
	for _, f := range findings {
		v.Counts[f.Severity.String()]++
		if p.Meets(f.Severity) {
			v.AtOrAboveThreshold++
		}
	}
	v.Pass = !(p.FailOnIssues && v.AtOrAboveThreshold > 0)
	return v
}
