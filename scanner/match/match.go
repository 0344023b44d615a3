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
	record *vulndb.Record
	fixed  []string
	cvss   *report.Score
	vendor report.Severity
	rating string
	// imports are the affected entry's vulnerable packages and symbols (Go records).
	imports []vulndb.GoImport
}

// Match looks up every package and returns one finding per vulnerability per package.
// Lookups run on every CPU: binary packages of one source package (a dozen from
// util-linux, say) ask for the same records and are matched together, each name looked
// up once; the findings come out in the same order whatever the scheduling.
func Match(ctx context.Context, src Source, pkgs []report.Package, o Options) (*Result, error) {
	res := &Result{Unchecked: map[string]int{}}
	jobs, noVersion := queries(src, pkgs, res.Unchecked)
	found, unparsable, err := run(ctx, src, pkgs, jobs, o)
	if err != nil {
		return nil, err
	}
	res.Findings = ordered(found)
	if n := len(noVersion); n > 0 {
		shown := noVersion[:min(n, 5)]
		more := ""
		if n > len(shown) {
			more = fmt.Sprintf(" and %d more", n-len(shown))
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d packages have no version to compare (UNKNOWN, empty, * or latest) and were not checked for vulnerabilities: %s%s", n, strings.Join(shown, ", "), more))
	}
	if unparsable > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d advisory ranges had versions that could not be parsed and were skipped", unparsable))
	}
	return res, nil
}

// A job is one database query (an ecosystem and name) and the packages that share it.
type job struct {
	eco, name string
	members   []int // indexes into pkgs
}

// queries groups the packages to check by what is asked of the database; it counts the
// packages of ecosystems without data in unchecked and lists those without a version.
func queries(src Source, pkgs []report.Package, unchecked map[string]int) (jobs []*job, noVersion []string) {
	byKey := map[string]*job{}
	for i, p := range pkgs {
		if p.OSOwned {
			continue // matched through the OS package that installed it
		}
		if p.Ecosystem == "" {
			unchecked["(unknown)"]++
			continue
		}
		if !src.Has(p.Ecosystem) {
			unchecked[ecosystem.Base(p.Ecosystem)]++
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
			j = &job{eco: p.Ecosystem, name: name}
			byKey[key] = j
			jobs = append(jobs, j)
		}
		j.members = append(j.members, i)
	}
	return jobs, noVersion
}

// run answers the jobs on every core and matches each package against its records: the
// findings per package, and how many advisory ranges could not be parsed.
func run(ctx context.Context, src Source, pkgs []report.Package, jobs []*job, o Options) ([][]report.Finding, int, error) {
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
		return nil, 0, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, 0, err
		}
	}
	total := 0
	for _, n := range unparsable {
		total += n
	}
	return found, total, nil
}

// ordered joins the packages' findings, most severe first, then by package name and id
// (ties in package order). Findings are large: their indexes are sorted, not them.
func ordered(found [][]report.Finding) []report.Finding {
	var all []*report.Finding
	for i := range found {
		for j := range found[i] {
			all = append(all, &found[i][j])
		}
	}
	// all is in package order: a stable sort keeps it for ties.
	slices.SortStableFunc(all, func(a, b *report.Finding) int {
		if a.Severity != b.Severity {
			return cmp.Compare(b.Severity, a.Severity)
		}
		if c := strings.Compare(a.Package.Name, b.Package.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]report.Finding, len(all))
	for i, f := range all {
		out[i] = *f
	}
	return out
}

// matchOne matches one package against the records found for its name.
func matchOne(src Source, p report.Package, records []vulndb.Entry, o Options) ([]report.Finding, int, error) {
	name, version := query(p)
	unparsable := 0
	inst := &installed{raw: ecosystem.NormalizeVersion(p.Ecosystem, version), ecosystem: ecosystem.Base(p.Ecosystem)}
	type candidate struct {
		e     *vulndb.Entry
		a     *vulndb.Affected
		fixed []string
	}
	var cands []candidate
	var read []*vulndb.Entry
	for i := range records {
		e := &records[i]
		for j := range e.Affected {
			a := &e.Affected[j]
			// The index files entries under the ecosystem and normalized name they name.
			if a.Ecosystem != p.Ecosystem {
				continue
			}
			ok, fixed, readable := inst.affectedBy(a)
			if !readable {
				unparsable++
			}
			if !ok {
				continue
			}
			if len(read) == 0 || read[len(read)-1] != e {
				read = append(read, e)
			}
			cands = append(cands, candidate{e, a, fixed})
		}
	}
	// The records of the entries that matched, read together.
	if err := vulndb.ReadRecords(read); err != nil {
		return nil, 0, err
	}
	hits := make([]hit, 0, len(cands))
	for _, c := range cands {
		r, err := c.e.Record()
		if err != nil {
			return nil, 0, err
		}
		rating, vendor := vendorRating(r, c.a)
		hits = append(hits, hit{record: r, fixed: c.fixed, cvss: bestCVSS(r, c.a), vendor: vendor, rating: rating, imports: c.a.Imports})
	}
	out := merge(p, name, version, hits)
	kept := out[:0]
	for i := range out {
		if o.IgnoreUnfixed && !out[i].Fixed() {
			continue
		}
		if err := borrowScore(src, &out[i]); err != nil {
			return nil, 0, err
		}
		kept = append(kept, out[i])
	}
	return kept, unparsable, nil
}

// A Scorer finds a CVSS vector for a vulnerability by any of its identifiers, among all
// the data (vulndb.Store does).
type Scorer interface {
	Score(own string, ids []string) (vulndb.Score, bool, error)
}

// borrowScore gives a finding whose advisories carry no CVSS the vector of another
// imported record that shares an identifier (a GO- record from its GHSA alias, an Alpine
// or Debian record from a GitHub or RustSec record for the same CVE). The vendor's own
// rating, when there is one, still decides the severity. With no vector anywhere, a
// finding without a rating of its own takes another vendor's rating for the same
// vulnerability (an AlmaLinux advisory that fixes the CVE), said as "other-vendor".
func borrowScore(src Source, f *report.Finding) error {
	sc, ok := src.(Scorer)
	if !ok || f.CVSS != nil {
		return nil
	}
	got, found, err := sc.Score(ecosystem.Base(f.Package.Ecosystem), f.IDs())
	if err != nil || !found {
		return err
	}
	if got.Type == vulndb.Rating {
		// No record carries a CVSS vector for it: another vendor's rating, when the
		// finding has none of its own. Never a severity nobody gave.
		if f.Vendor == nil {
			if sev := qualitative(got.Vector); sev != report.Unknown {
				f.Vendor = &report.VendorRating{Rating: got.Vector, Source: got.Source}
				f.Severity, f.SeveritySource = sev, "other-vendor"
				if got.Own {
					f.SeveritySource = "distro" // the same distribution, under another advisory
				}
			}
		}
		return nil
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

// merge turns a package's hits into findings, one per vulnerability: records that share
// an id (aliases, upstream) are the same vulnerability.
func merge(p report.Package, name, version string, hits []hit) []report.Finding {
	if len(hits) == 0 {
		return nil
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return strings.Compare(a.record.ID, b.record.ID) })
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
	n := 0
	for _, h := range hits {
		n += 1 + len(h.record.Aliases) + len(h.record.Upstream)
	}
	owner := make(map[string]int, n)
	for i, h := range hits {
		for _, id := range h.record.IDs() {
			if j, ok := owner[id]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[id] = i
			}
		}
	}
	// Groups in the order of their first hit (hits are sorted by id): the hits ordered by
	// their group's first hit, then by id.
	first := make([]int, len(hits)) // a group's first hit by root, +1
	group := make([]int, len(hits))
	groups := 0
	for i := range hits {
		r := find(i)
		if first[r] == 0 {
			first[r] = i + 1
			groups++
		}
		group[i] = first[r]
	}
	order := make([]int, len(hits))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(group[a], group[b]) })
	byGroup := make([]hit, len(hits))
	for i, j := range order {
		byGroup[i] = hits[j]
	}
	out := make([]report.Finding, 0, groups)
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && group[order[end]] == group[order[start]] {
			end++
		}
		out = append(out, build(p, name, version, byGroup[start:end]))
		start = end
	}
	return out
}

func build(p report.Package, name, version string, group []hit) report.Finding {
	primary, aliases := identify(group)
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
	if n := len(group[0].record.References); n > 0 {
		f.References = make([]string, 0, min(8, n))
	}
	if name != p.Name || version != p.Version {
		f.Package.MatchedName, f.Package.MatchedVersion = name, version
	}
	for _, h := range group {
		if f.Title == "" && h.record.Summary != "" {
			f.Title = h.record.Summary
		}
		for _, fx := range h.fixed {
			if !slices.Contains(f.FixedVersions, fx) {
				f.FixedVersions = append(f.FixedVersions, fx)
			}
		}
		for _, u := range h.record.References {
			if !slices.Contains(f.References, u) && len(f.References) < 8 {
				f.References = append(f.References, u)
			}
		}
	}
	sortVersions(f.FixedVersions, p.Ecosystem)
	f.CVSS = preferredScore(group)
	for _, h := range group {
		if h.vendor != report.Unknown && (f.Vendor == nil || h.vendor > f.Severity) {
			f.Vendor = &report.VendorRating{Rating: h.rating, Source: h.record.ID}
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
	f.Reachability = reachability(p, loc, group)
	return f
}

// identify names the finding of a group of advisories that share ids: its one CVE when
// the advisories name exactly one, else the smallest record id; every other id is an
// alias.
func identify(group []hit) (primary string, aliases []string) {
	var all []string
	primary = group[0].record.ID
	for _, h := range group {
		primary = min(primary, h.record.ID)
		all = append(all, h.record.IDs()...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	var cves []string
	for _, id := range all {
		if strings.HasPrefix(id, "CVE-") {
			cves = append(cves, id)
		}
	}
	if len(cves) == 1 {
		primary = cves[0]
	}
	aliases = slices.DeleteFunc(all, func(id string) bool { return id == primary })
	if len(aliases) == 0 {
		aliases = nil
	}
	return primary, aliases
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
