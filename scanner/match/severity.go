package match

import (
	"strings"

	"github.com/ossf/osv-schema/bindings/go/osvschema"
	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// cvssScore computes the base score of a CVSS vector with go-cvss.
func cvssScore(t osvschema.Severity_Type, vector string) (*report.Score, bool) {
	switch t {
	case osvschema.Severity_CVSS_V3:
		if strings.HasPrefix(vector, "CVSS:3.0/") {
			c, err := gocvss30.ParseVector(vector)
			if err != nil {
				return nil, false
			}
			return &report.Score{Version: "3.0", Vector: vector, Score: c.BaseScore()}, true
		}
		c, err := gocvss31.ParseVector(vector)
		if err != nil {
			return nil, false
		}
		return &report.Score{Version: "3.1", Vector: vector, Score: c.BaseScore()}, true
	case osvschema.Severity_CVSS_V4:
		c, err := gocvss40.ParseVector(vector)
		if err != nil {
			return nil, false
		}
		return &report.Score{Version: "4.0", Vector: vector, Score: c.Score()}, true
	case osvschema.Severity_CVSS_V2:
		c, err := gocvss20.ParseVector(vector)
		if err != nil {
			return nil, false
		}
		return &report.Score{Version: "2.0", Vector: vector, Score: c.BaseScore()}, true
	}
	return nil, false
}

// severityFromScore maps a CVSS base score to its qualitative rating (a score of 0.0,
// "None", counts as Low: the advisory still exists).
func severityFromScore(s float64) report.Severity {
	switch {
	case s >= 9.0:
		return report.Critical
	case s >= 7.0:
		return report.High
	case s >= 4.0:
		return report.Medium
	default:
		return report.Low
	}
}

// cvssPreference orders vector types: v3.x is what most tools and GitHub show, then v4,
// then v2.
var cvssPreference = []osvschema.Severity_Type{osvschema.Severity_CVSS_V3, osvschema.Severity_CVSS_V4, osvschema.Severity_CVSS_V2}

// bestCVSS picks the preferred vector among the affected entry's severities (which are
// specific to the package) and then the record's.
func bestCVSS(r *vulndb.Record, a *vulndb.Affected) *report.Score {
	for _, list := range [][]vulndb.Severity{a.Severity, r.Severity} {
		for _, t := range cvssPreference {
			for _, s := range list {
				if s.Type != t {
					continue
				}
				if sc, ok := cvssScore(t, s.Vector); ok {
					sc.Source = r.ID
					return sc
				}
			}
		}
	}
	return nil
}

// vendorRating reads the rating an advisory database records outside CVSS: GitHub's
// database_specific.severity (LOW, MODERATE, HIGH, CRITICAL), Ubuntu's priority, Debian's
// urgency (the affected entry's, then the record's), or Red Hat style "Important: ..."
// summaries (AlmaLinux, Rocky Linux).
func vendorRating(r *vulndb.Record, a *vulndb.Affected) (string, report.Severity) {
	for _, list := range [][]string{a.Ratings, r.Ratings} {
		for _, rating := range list {
			if s := qualitative(rating); s != report.Unknown {
				return rating, s
			}
		}
	}
	if rating, _, ok := strings.Cut(r.Summary, ": "); ok && !strings.Contains(rating, " ") {
		if s := qualitative(rating); s != report.Unknown {
			return rating, s
		}
	}
	return "", report.Unknown
}

func qualitative(s string) report.Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return report.Critical
	case "high", "important":
		return report.High
	case "medium", "moderate":
		return report.Medium
	case "low", "negligible", "unimportant":
		return report.Low
	}
	return report.Unknown
}
