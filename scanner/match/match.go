// Package match finds the known vulnerabilities of inventoried packages in the local OSV
// store: per-ecosystem version order (osv-scalibr's semantic), distro source packages,
// alias merging, severity from CVSS vectors, and fixed versions.
package match

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/vulndb"

	"github.com/google/osv-scalibr/semantic"
	"github.com/ossf/osv-schema/bindings/go/osvschema"

	"github.com/imagegate/imagegate/report"
)

// Source is where records come from: the local store.
type Source interface {
	Has(ecosystem string) bool
	Query(ecosystem, name string) ([]vulndb.Entry, error)
}

// Options configures Match.
type Options struct {
	// IgnoreUnfixed drops vulnerabilities that have no fixed version yet.
	IgnoreUnfixed bool
}

// Result is what matching found.
type Result struct {
	Findings []report.Finding
	// Unchecked counts packages per ecosystem that had no data to match against.
	Unchecked map[string]int
	Warnings  []string
}

// saysNothing reports whether a version names no release: an advisory range cannot be
// compared with it.
func saysNothing(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "unknown", "*", "latest":
		return true
	}
	return false
}

// query says under which name and version the advisories list a package: distro records
// are per source package (Debian, Ubuntu) or origin (Alpine).
func query(p report.Package) (name, version string) {
	if ecosystem.BySource(p.Ecosystem) && p.SourceName != "" {
		v := p.SourceVersion
		if v == "" {
			v = p.Version
		}
		return p.SourceName, v
	}
	return p.Name, p.Version
}

type hit struct {
	record *osvschema.Vulnerability
	fixed  []string
	cvss   *report.Score
	vendor report.Severity
	rating string
}

// Match looks up every package and returns one finding per vulnerability per package.
// Lookups run on every CPU: binary packages of one source package (a dozen from
// util-linux, say) ask for the same records and are matched together, each name looked
// up once; the findings come out in the same order whatever the scheduling.
func Match(ctx context.Context, src Source, pkgs []report.Package, o Options) (*Result, error) {
	res := &Result{Unchecked: map[string]int{}}
	var noVersion []string
	type job struct {
		key     string
		eco     string
		name    string
		members []int // indexes into pkgs
	}
	var jobs []*job
	byKey := map[string]*job{}
	for i, p := range pkgs {
		if p.OSOwned {
			continue // matched through the OS package that installed it
		}
		if p.Ecosystem == "" {
			res.Unchecked["(unknown)"]++
			continue
		}
		if !src.Has(p.Ecosystem) {
			res.Unchecked[ecosystem.Base(p.Ecosystem)]++
			continue
		}
		name, version := query(p)
		if version == "(devel)" {
			continue // a main module built from a work tree: the image's own code
		}
		if saysNothing(version) {
			// syft writes UNKNOWN for what it could not read: such a version would fall in
			// every range, so it is compared with none, and said.
			noVersion = append(noVersion, fmt.Sprintf("%s (%s)", p.Name, ecosystem.Base(p.Ecosystem)))
			continue
		}
		key := p.Ecosystem + "\x00" + name
		j, ok := byKey[key]
		if !ok {
			j = &job{key: key, eco: p.Ecosystem, name: name}
			byKey[key] = j
			jobs = append(jobs, j)
		}
		j.members = append(j.members, i)
	}

	found := make([][]report.Finding, len(pkgs))
	unparsable := make([]int, len(pkgs))
	errs := make([]error, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1)) - 1
				if n >= len(jobs) || ctx.Err() != nil {
					return
				}
				j := jobs[n]
				records, err := src.Query(j.eco, j.name)
				if err != nil {
					errs[n] = err
					return
				}
				for _, i := range j.members {
					found[i], unparsable[i], err = matchOne(src, pkgs[i], records, o)
					if err != nil {
						errs[n] = err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	total := 0
	for i := range pkgs {
		res.Findings = append(res.Findings, found[i]...)
		total += unparsable[i]
	}
	if n := len(noVersion); n > 0 {
		shown := noVersion[:min(n, 5)]
		more := ""
		if n > len(shown) {
			more = fmt.Sprintf(" and %d more", n-len(shown))
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d packages have no version to compare (UNKNOWN, empty, * or latest) and were not checked for vulnerabilities: %s%s", n, strings.Join(shown, ", "), more))
	}
	if total > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d advisory ranges had versions that could not be parsed and were skipped", total))
	}
	slices.SortStableFunc(res.Findings, func(a, b report.Finding) int {
		if a.Severity != b.Severity {
			return cmp.Compare(b.Severity, a.Severity)
		}
		if c := strings.Compare(a.Package.Name, b.Package.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return res, nil
}

// matchOne matches one package against the records found for its name.
func matchOne(src Source, p report.Package, records []vulndb.Entry, o Options) ([]report.Finding, int, error) {
	name, version := query(p)
	unparsable := 0
	var hits []hit
	inst := &installed{raw: ecosystem.NormalizeVersion(p.Ecosystem, version), ecosystem: ecosystem.Base(p.Ecosystem)}
	normName := ecosystem.NormalizeName(p.Ecosystem, name)
	for i := range records {
		e := &records[i]
		for _, a := range e.Affected {
			ap := a.GetPackage()
			if ap.GetEcosystem() != p.Ecosystem || ecosystem.NormalizeName(p.Ecosystem, ap.GetName()) != normName {
				continue
			}
			ok, fixed, readable := inst.affectedBy(a)
			if !readable {
				unparsable++
			}
			if !ok {
				continue
			}
			r, err := e.Record()
			if err != nil {
				return nil, 0, err
			}
			if r.GetWithdrawn() != nil {
				break
			}
			rating, vendor := vendorRating(r, a)
			hits = append(hits, hit{record: r, fixed: fixed, cvss: bestCVSS(r, a), vendor: vendor, rating: rating})
		}
	}
	var out []report.Finding
	for _, f := range merge(p, name, version, hits) {
		if o.IgnoreUnfixed && !f.Fixed() {
			continue
		}
		if err := borrowScore(src, &f); err != nil {
			return nil, 0, err
		}
		out = append(out, f)
	}
	return out, unparsable, nil
}

// A Scorer finds a CVSS vector for a vulnerability by any of its identifiers, among all
// the data (vulndb.Store does).
type Scorer interface {
	Score(ids []string) (vulndb.Score, bool, error)
}

// borrowScore gives a finding whose advisories carry no CVSS the vector of another
// imported record that shares an identifier (a GO- record from its GHSA alias, an Alpine
// or Debian record from a GitHub or RustSec record for the same CVE). The vendor's own
// rating, when there is one, still decides the severity.
func borrowScore(src Source, f *report.Finding) error {
	sc, ok := src.(Scorer)
	if !ok || f.CVSS != nil {
		return nil
	}
	got, found, err := sc.Score(f.IDs())
	if err != nil || !found {
		return err
	}
	score, ok := cvssScore(got.Type, got.Vector)
	if !ok {
		return nil
	}
	score.Source, score.Via = got.Source, got.Via
	f.CVSS = score
	if f.Vendor == nil {
		f.Severity, f.SeveritySource = severityFromScore(score.Score), "alias"
	}
	return nil
}

func ids(r *osvschema.Vulnerability) []string {
	out := make([]string, 0, 1+len(r.GetAliases())+len(r.GetUpstream()))
	out = append(out, r.GetId())
	out = append(out, r.GetAliases()...)
	out = append(out, r.GetUpstream()...)
	return out
}

// merge turns a package's hits into findings, one per vulnerability: records that share
// an id (aliases, upstream) are the same vulnerability.
func merge(p report.Package, name, version string, hits []hit) []report.Finding {
	if len(hits) == 0 {
		return nil
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return strings.Compare(a.record.GetId(), b.record.GetId()) })
	parent := make([]int, len(hits))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := make(map[string]int, 4*len(hits))
	for i, h := range hits {
		for _, id := range ids(h.record) {
			if j, ok := owner[id]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[id] = i
			}
		}
	}
	// Groups in the order of their first hit (hits are sorted by id).
	roots := make([]int, len(hits))
	first := make([]int, len(hits)) // group index by root, +1
	var groups [][]hit
	for i := range hits {
		roots[i] = find(i)
	}
	for i, h := range hits {
		g := first[roots[i]]
		if g == 0 {
			groups = append(groups, nil)
			g = len(groups)
			first[roots[i]] = g
		}
		groups[g-1] = append(groups[g-1], h)
	}
	out := make([]report.Finding, 0, len(groups))
	for _, g := range groups {
		out = append(out, build(p, name, version, g))
	}
	return out
}

func build(p report.Package, name, version string, group []hit) report.Finding {
	all := map[string]bool{}
	var cves, recordIDs []string
	for _, h := range group {
		recordIDs = append(recordIDs, h.record.GetId())
		for _, id := range ids(h.record) {
			if !all[id] {
				all[id] = true
				if strings.HasPrefix(id, "CVE-") {
					cves = append(cves, id)
				}
			}
		}
	}
	sort.Strings(recordIDs)
	primary := recordIDs[0]
	if len(cves) == 1 {
		primary = cves[0]
	}
	var aliases []string
	for id := range all {
		if id != primary {
			aliases = append(aliases, id)
		}
	}
	sort.Strings(aliases)

	f := report.Finding{
		Kind:    report.KindVulnerability,
		ID:      primary,
		Aliases: aliases,
		Layer:   p.Layer,
		Package: &report.PackageRef{
			Name:      p.Name,
			Version:   p.Version,
			Ecosystem: p.Ecosystem,
			PURL:      p.PURL,
			Locations: p.Locations,
		},
	}
	if name != p.Name || version != p.Version {
		f.Package.MatchedName, f.Package.MatchedVersion = name, version
	}
	for _, h := range group {
		if f.Title == "" && h.record.GetSummary() != "" {
			f.Title = h.record.GetSummary()
		}
		for _, fx := range h.fixed {
			if !slices.Contains(f.FixedVersions, fx) {
				f.FixedVersions = append(f.FixedVersions, fx)
			}
		}
		for _, ref := range h.record.GetReferences() {
			if u := ref.GetUrl(); u != "" && !slices.Contains(f.References, u) && len(f.References) < 8 {
				f.References = append(f.References, u)
			}
		}
	}
	sortVersions(f.FixedVersions, p.Ecosystem)
	f.CVSS = preferredScore(group)
	for _, h := range group {
		if h.vendor != report.Unknown && (f.Vendor == nil || h.vendor > f.Severity) {
			f.Vendor = &report.VendorRating{Rating: h.rating, Source: h.record.GetId()}
			f.Severity = h.vendor
		}
	}
	switch {
	case f.CVSS != nil:
		f.Severity, f.SeveritySource = severityFromScore(f.CVSS.Score), "cvss"
	case f.Vendor != nil:
		f.SeveritySource = "vendor"
	}
	loc := ""
	if len(p.Locations) > 0 {
		loc = p.Locations[0]
	}
	f.Fingerprint = report.MakeFingerprint(string(f.Kind), f.ID, ecosystem.Base(p.Ecosystem), p.Name, loc)
	return f
}

// preferredScore takes, among the group's vectors of the most preferred CVSS version
// present, the highest score.
func preferredScore(group []hit) *report.Score {
	for _, version := range []string{"3.1", "3.0", "4.0", "2.0"} {
		var best *report.Score
		for _, h := range group {
			if h.cvss != nil && h.cvss.Version == version && (best == nil || h.cvss.Score > best.Score) {
				best = h.cvss
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

func sortVersions(vs []string, eco string) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, err := semantic.Parse(vs[i], ecosystem.Base(eco))
		if err != nil {
			return vs[i] < vs[j]
		}
		c, err := a.CompareStr(vs[j])
		if err != nil {
			return vs[i] < vs[j]
		}
		return c < 0
	})
}
