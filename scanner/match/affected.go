package match

import (
	"slices"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/semantic"
	"github.com/ossf/osv-schema/bindings/go/osvschema"
)

// event is one range event with its parsed version.
type event struct {
	kind    string // introduced, fixed, last_affected, limit
	raw     string
	version semantic.Version // nil for introduced "0"
}

// rangeResult is what one range says about a version.
type rangeResult struct {
	affected bool
	fixed    string // the fix for the interval the version is in, if any
}

// parseVersion parses v in the version order of ecosystem (the base name) or, for SEMVER
// ranges, of semver.
func parseVersion(v, ecosystem string, semver bool) (semantic.Version, error) {
	if semver {
		return semantic.ParseSemverVersion(strings.TrimPrefix(v, "v")), nil
	}
	return semantic.Parse(v, ecosystem)
}

// evalRange evaluates one ECOSYSTEM or SEMVER range for the installed version, following
// the OSV schema: events sorted by version, "introduced" opens an affected interval,
// "fixed" closes it at that version, "last_affected" closes it after that version, and
// "limit" bounds the range. ok is false when a version could not be parsed.
func evalRange(r *osvschema.Range, installed semantic.Version, ecosystem string) (res rangeResult, ok bool) {
	semver := r.GetType() == osvschema.Range_SEMVER
	var events []event
	var limits []semantic.Version
	for _, e := range r.GetEvents() {
		ev := event{}
		switch {
		case e.GetIntroduced() != "":
			ev.kind, ev.raw = "introduced", e.GetIntroduced()
		case e.GetFixed() != "":
			ev.kind, ev.raw = "fixed", e.GetFixed()
		case e.GetLastAffected() != "":
			ev.kind, ev.raw = "last_affected", e.GetLastAffected()
		case e.GetLimit() != "":
			ev.kind, ev.raw = "limit", e.GetLimit()
		default:
			continue
		}
		if ev.kind == "introduced" && ev.raw == "0" {
			events = append(events, ev)
			continue
		}
		if ev.kind == "limit" && ev.raw == "*" {
			continue
		}
		v, err := parseVersion(ev.raw, ecosystem, semver)
		if err != nil {
			return rangeResult{}, false
		}
		ev.version = v
		if ev.kind == "limit" {
			limits = append(limits, v)
			continue
		}
		events = append(events, ev)
	}
	var sortErr bool
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i], events[j]
		if a.version == nil || b.version == nil {
			return a.version == nil && b.version != nil
		}
		c, err := a.version.Compare(b.version)
		if err != nil {
			sortErr = true
		}
		return c < 0
	})
	if sortErr {
		return rangeResult{}, false
	}
	for _, l := range limits {
		if c, err := installed.Compare(l); err != nil || c >= 0 {
			return rangeResult{}, err == nil
		}
	}
	affected := false
	for i, ev := range events {
		var c int
		if ev.version == nil {
			c = 1 // every version is at or after introduced "0"
		} else {
			var err error
			if c, err = installed.Compare(ev.version); err != nil {
				return rangeResult{}, false
			}
		}
		switch ev.kind {
		case "introduced":
			if c >= 0 {
				affected = true
			}
		case "fixed":
			if c >= 0 {
				affected = false
			}
		case "last_affected":
			if c > 0 {
				affected = false
			}
		}
		if c < 0 || (ev.kind == "last_affected" && c == 0) {
			// Later events cannot change the answer; find the fix for this interval.
			if affected {
				for _, next := range events[i:] {
					if next.kind == "fixed" {
						return rangeResult{affected: true, fixed: next.raw}, true
					}
					if next.kind == "introduced" {
						break
					}
				}
			}
			return rangeResult{affected: affected}, true
		}
	}
	return rangeResult{affected: affected}, true
}

// installed is a package's version, parsed once per order (the ecosystem's, semver's)
// however many affected entries it is compared with.
type installed struct {
	raw, ecosystem string
	parsed         [2]semantic.Version
	err            [2]error
	done           [2]bool
}

func (in *installed) version(semver bool) (semantic.Version, error) {
	i := 0
	if semver {
		i = 1
	}
	if !in.done[i] {
		in.parsed[i], in.err[i] = parseVersion(in.raw, in.ecosystem, semver)
		in.done[i] = true
	}
	return in.parsed[i], in.err[i]
}

// affects reports whether an affected entry covers the installed version, and the fixed
// versions of the intervals that cover it. ok is false when the entry could not be read
// (an unparsable version).
func affects(a *osvschema.Affected, installedRaw, ecosystem string) (hit bool, fixed []string, ok bool) {
	return (&installed{raw: installedRaw, ecosystem: ecosystem}).affectedBy(a)
}

func (in *installed) affectedBy(a *osvschema.Affected) (hit bool, fixed []string, ok bool) {
	ok = true
	for _, v := range a.GetVersions() {
		if v == in.raw {
			hit = true
		}
	}
	for _, r := range a.GetRanges() {
		t := r.GetType()
		if t != osvschema.Range_ECOSYSTEM && t != osvschema.Range_SEMVER {
			continue // GIT ranges need commits, which images do not carry
		}
		inst, err := in.version(t == osvschema.Range_SEMVER)
		if err != nil {
			return false, nil, false
		}
		res, rok := evalRange(r, inst, in.ecosystem)
		if !rok {
			ok = false
			continue
		}
		if res.affected {
			hit = true
			if res.fixed != "" && !slices.Contains(fixed, res.fixed) {
				fixed = append(fixed, res.fixed)
			}
		}
	}
	return hit, fixed, ok
}
