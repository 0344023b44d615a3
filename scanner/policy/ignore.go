package policy

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/google/osv-scalibr/semantic"
	"github.com/package-url/packageurl-go"

	"github.com/imagegate/imagegate/report"
)

// Ignore is one accepted finding pattern from .imagegate.yaml. Every field given must
// match; Reason is required.
type Ignore struct {
	// ID matches a finding's id or any alias (CVE-2021-44906, GHSA-..., DF003).
	ID string `yaml:"id"`
	// Package is a purl without version (pkg:npm/lodash); Versions narrows it with
	// comparisons in the package's ecosystem order (">=4.0.0, <4.17.21").
	Package  string `yaml:"package"`
	Versions string `yaml:"versions"`
	// Path is a glob (path.Match, with ** for any folders) over the package's location in
	// the image or the Dockerfile path.
	Path string `yaml:"path"`
	// Rule matches a Dockerfile rule or image check id (or a hadolint id, resolved by the
	// caller).
	Rule string `yaml:"rule"`
	// Origin narrows the entry to findings from the base image's layers ("base") or the
	// application's ("app"): {rule: IC009, origin: base} accepts the base image's usual
	// setuid programs as a group, and still reports one the Dockerfile adds.
	Origin  report.Origin `yaml:"origin"`
	Reason  string        `yaml:"reason"`
	Expires string        `yaml:"expires"`

	// Source is file:line, for messages.
	Source string `yaml:"-"`
}

// Validate checks an entry: a reason, at least one pattern, a valid date and purl.
func (ig Ignore) Validate() error {
	if strings.TrimSpace(ig.Reason) == "" {
		return fmt.Errorf("an ignore entry needs a reason")
	}
	if ig.ID == "" && ig.Package == "" && ig.Path == "" && ig.Rule == "" {
		return fmt.Errorf("an ignore entry needs one of id, package, path or rule")
	}
	if ig.Origin != "" && ig.Origin != report.OriginBase && ig.Origin != report.OriginApp {
		return fmt.Errorf("origin %q: want base or app", ig.Origin)
	}
	if ig.Expires != "" {
		if _, err := time.Parse("2006-01-02", ig.Expires); err != nil {
			return fmt.Errorf("expires %q: want a date like 2027-01-31", ig.Expires)
		}
	}
	if ig.Package != "" {
		if _, err := packageurl.FromString(ig.Package); err != nil {
			return fmt.Errorf("package %q: not a package URL (pkg:npm/lodash): %w", ig.Package, err)
		}
	}
	if ig.Versions != "" && ig.Package == "" {
		return fmt.Errorf("versions needs a package")
	}
	if ig.Versions != "" {
		if _, err := parseConstraints(ig.Versions); err != nil {
			return err
		}
	}
	if ig.Path != "" {
		// Each ** multiplies the work of a match by the path's depth.
		if n := strings.Count(ig.Path, "**"); n > MaxGlobStars {
			return fmt.Errorf("path %q: %d ** segments, over the limit of %d", ig.Path, n, MaxGlobStars)
		}
		if _, err := path.Match(strings.ReplaceAll(ig.Path, "**", "*"), ""); err != nil {
			return fmt.Errorf("path %q: %w", ig.Path, err)
		}
	}
	return nil
}

// Expired reports whether the entry's date has passed at now.
func (ig Ignore) Expired(now time.Time) bool {
	if ig.Expires == "" {
		return false
	}
	t, err := time.Parse("2006-01-02", ig.Expires)
	return err == nil && !now.Before(t.AddDate(0, 0, 1)) // valid through the whole day
}

// Matches reports whether the entry covers f.
func (ig Ignore) Matches(f *report.Finding) bool {
	if ig.ID != "" && !containsFold(f.IDs(), ig.ID) {
		return false
	}
	if ig.Rule != "" && !(f.Rule != nil && strings.EqualFold(f.Rule.ID, ig.Rule)) {
		return false
	}
	if ig.Package != "" && !ig.matchesPackage(f.Package) {
		return false
	}
	if ig.Path != "" && !ig.matchesPath(f) {
		return false
	}
	if ig.Origin != "" && f.Origin != ig.Origin {
		return false
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (ig Ignore) matchesPackage(p *report.PackageRef) bool {
	if p == nil || p.PURL == "" {
		return false
	}
	want, err := packageurl.FromString(ig.Package)
	if err != nil {
		return false
	}
	got, err := packageurl.FromString(p.PURL)
	if err != nil {
		return false
	}
	if !strings.EqualFold(want.Type, got.Type) || want.Namespace != got.Namespace || want.Name != got.Name {
		return false
	}
	if want.Version != "" && want.Version != got.Version {
		return false
	}
	if ig.Versions == "" {
		return true
	}
	cs, err := parseConstraints(ig.Versions)
	if err != nil {
		return false
	}
	eco, _, _ := strings.Cut(p.Ecosystem, ":")
	for _, c := range cs {
		v, err := semantic.Parse(c.version, eco)
		if err != nil {
			return false
		}
		cmp, err := v.CompareStr(p.Version)
		if err != nil {
			return false
		}
		// cmp compares the constraint's version to the installed one: flip it.
		if !c.ok(-cmp) {
			return false
		}
	}
	return true
}

func (ig Ignore) matchesPath(f *report.Finding) bool {
	var paths []string
	if f.Package != nil {
		paths = append(paths, f.Package.Locations...)
	}
	if f.Location != nil {
		paths = append(paths, f.Location.Path)
	}
	for _, p := range paths {
		if globMatch(ig.Path, strings.TrimPrefix(p, "/")) {
			return true
		}
	}
	return false
}

// MaxGlobStars bounds the ** segments of an ignore entry's path glob.
const MaxGlobStars = 4

// globMatch is path.Match where ** also crosses folders.
func globMatch(pattern, name string) bool {
	pattern = strings.TrimPrefix(pattern, "/")
	if !strings.Contains(pattern, "**") {
		ok, _ := path.Match(pattern, name)
		return ok
	}
	parts := strings.SplitN(pattern, "**", 2)
	prefix, rest := parts[0], strings.TrimPrefix(parts[1], "/")
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	tail := strings.TrimPrefix(name, prefix)
	if rest == "" {
		return true
	}
	segs := strings.Split(tail, "/")
	for i := range segs {
		if globMatch(rest, strings.Join(segs[i:], "/")) {
			return true
		}
	}
	return false
}

type constraint struct {
	op      string
	version string
}

// ok reports whether an installed version that compares as cmp to the constraint's
// version (-1 lower, 0 equal, 1 higher) satisfies it.
func (c constraint) ok(cmp int) bool {
	switch c.op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "=", "==":
		return cmp == 0
	case "!=":
		return cmp != 0
	}
	return false
}

func parseConstraints(s string) ([]constraint, error) {
	var out []constraint
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		op := ""
		for _, o := range []string{"<=", ">=", "==", "!=", "<", ">", "="} {
			if strings.HasPrefix(part, o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, fmt.Errorf("versions %q: each comparison starts with <, <=, >, >=, = or !=", s)
		}
		v := strings.TrimSpace(strings.TrimPrefix(part, op))
		if v == "" {
			return nil, fmt.Errorf("versions %q: %s needs a version", s, op)
		}
		out = append(out, constraint{op: op, version: v})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("versions %q: no comparison", s)
	}
	return out, nil
}
