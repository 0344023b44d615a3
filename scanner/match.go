package scanner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/imagegate/imagegate/scanner/ecosystem"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/match"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// matchVulnerabilities matches the packages against the store, records the data used and
// says which data is stale and which packages had none.
func matchVulnerabilities(ctx context.Context, store *vulndb.Store, ignoreUnfixed bool, maxAge time.Duration, res *report.Result) error {
	m, err := match.Match(ctx, store, res.Packages, match.Options{IgnoreUnfixed: ignoreUnfixed})
	if err != nil {
		return err
	}
	res.Findings = append(res.Findings, m.Findings...)
	res.Warnings = append(res.Warnings, m.Warnings...)
	if maxAge <= 0 {
		maxAge = DefaultDBMaxAge
	}
	used := map[string]bool{}
	for _, p := range res.Packages {
		if p.Ecosystem != "" {
			used[ecosystem.Base(p.Ecosystem)] = true
		}
	}
	if store.Unsigned != "" {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the vulnerability data comes from %s unsigned (insecure-unsigned-db): whoever can push to it decides what the gate knows", store.Unsigned))
	}
	for _, info := range store.Infos() {
		if !used[info.Ecosystem] {
			continue
		}
		res.Data = append(res.Data, report.DataSource{Ecosystem: info.Ecosystem, Records: info.Records, Source: info.Source, Updated: info.Updated})
		if age := time.Since(info.Updated); age > maxAge {
			res.Warnings = append(res.Warnings, fmt.Sprintf("vulnerability data for %s is %d days old (last updated %s): run 'imagegate db update'",
				info.Ecosystem, int(age.Hours()/24), info.Updated.Format("2006-01-02")))
		}
	}
	for _, eco := range slices.Sorted(maps.Keys(m.Unchecked)) {
		if eco == "(unknown)" {
			res.Incomplete = append(res.Incomplete, fmt.Sprintf("%d packages have no known ecosystem (no os-release?) and were not checked for vulnerabilities", m.Unchecked[eco]))
			continue
		}
		res.Incomplete = append(res.Incomplete, fmt.Sprintf("no vulnerability data for %s: %d packages not checked (run 'imagegate db update --ecosystems %s')", eco, m.Unchecked[eco], eco))
	}
	return nil
}
