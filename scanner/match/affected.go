package match

import (
	"slices"

	"github.com/google/osv-scalibr/semantic"

	"github.com/imagegate/imagegate/scanner/vulndb"
)

// rangeResult is what one range says about a version.
type rangeResult struct {
	affected bool
	fixed    string // the fix for the interval the version is in, if any
}

// evalRange evaluates one ECOSYSTEM or SEMVER range for the installed version, following
// the OSV schema: events in version order, "introduced" opens an affected interval,
// "fixed" closes it at that version, "last_affected" closes it after that version, and
// "limit" bounds the range. The index sorted the events when the data was imported, so
// versions are parsed only up to the first event past the installed one. ok is false when
// a version could not be parsed (the index keeps such a range unsorted).
func evalRange(r *vulndb.Range, installed semantic.Version, ecosystem string) (res rangeResult, ok bool) {
	if !r.Sorted {
		return rangeResult{}, false
	}
	for _, l := range r.Limits {
		v, err := vulndb.ParseVersion(l, ecosystem, r.Semver)
		if err != nil {
			return rangeResult{}, false
		}
		if c, err := installed.Compare(v); err != nil || c >= 0 {
			return rangeResult{}, err == nil
		}
	}
	affected := false
	for i, ev := range r.Events {
		c := 1 // every version is at or after introduced "0"
		if ev.Kind != vulndb.Introduced || ev.Version != "0" {
			v, err := vulndb.ParseVersion(ev.Version, ecosystem, r.Semver)
			if err != nil {
				return rangeResult{}, false
			}
			if c, err = installed.Compare(v); err != nil {
				return rangeResult{}, false
			}
		}
		switch ev.Kind {
		case vulndb.Introduced:
			if c >= 0 {
				affected = true
			}
		case vulndb.Fixed:
			if c >= 0 {
				affected = false
			}
		case vulndb.LastAffected:
			if c > 0 {
				affected = false
			}
		}
		if c < 0 || (ev.Kind == vulndb.LastAffected && c == 0) {
			// Later events cannot change the answer; find the fix for this interval.
			if affected {
				for _, next := range r.Events[i:] {
					if next.Kind == vulndb.Fixed {
						return rangeResult{affected: true, fixed: next.Version}, true
					}
					if next.Kind == vulndb.Introduced {
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
		in.parsed[i], in.err[i] = vulndb.ParseVersion(in.raw, in.ecosystem, semver)
		in.done[i] = true
	}
	return in.parsed[i], in.err[i]
}

// affectedBy reports whether an affected entry covers the installed version, and the fixed
// versions of the intervals that cover it. ok is false when the entry could not be read
// (an unparsable version).
func (in *installed) affectedBy(a *vulndb.Affected) (hit bool, fixed []string, ok bool) {
	ok = true
	if slices.Contains(a.Versions, in.raw) {
		hit = true
	}
	for i := range a.Ranges {
		r := &a.Ranges[i]
		inst, err := in.version(r.Semver)
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
