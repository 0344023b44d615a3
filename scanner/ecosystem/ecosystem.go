// Package ecosystem is the one table of the package ecosystems imagegate knows: for each,
// its OSV name (advisories, exports, `db update`), its package URL type (inventory, SBOMs),
// how its versions are ordered (osv-scalibr's semantic package, keyed by the OSV name),
// how advisories name its packages, and for distributions the os-release ID and release
// format. Inventory, SBOM input, matching and `db update` all read it; adding an ecosystem
// is a row here (and an extractor in inventory when it is a new file format).
package ecosystem

import (
	"slices"
	"strings"
)

// Ecosystem is one row of the table.
type Ecosystem struct {
	// OSV is the name OSV records and exports use ("Debian", "npm", "crates.io"); distro
	// records add the release after a colon ("Debian:12").
	OSV string
	// PURLType is the package URL type of its packages ("deb", "npm").
	PURLType string
	// Distro is the os-release ID of a distribution ("debian"); "" for a language.
	Distro string
	// Release turns a distribution's os-release VERSION_ID into the release OSV names
	// ("12.4" -> "12" for Debian, "3.20.2" -> "v3.20" for Alpine); "" when it cannot.
	Release func(versionID string) string
	// BySource says the distribution's advisories name source packages (dpkg Source:,
	// apk origin), not the binary packages installed.
	BySource bool
	// Name and Version bring a package's name and version to the form advisories use for
	// lookups and range comparison (nil: as they are).
	Name, Version func(string) string
}

// IsDistro reports whether the ecosystem is a distribution's.
func (e Ecosystem) IsDistro() bool { return e.Distro != "" }

func major(v string) string { m, _, _ := strings.Cut(v, "."); return m }

func majorMinor(prefix string) func(string) string {
	return func(v string) string {
		parts := strings.SplitN(v, ".", 3)
		if len(parts) < 2 {
			return ""
		}
		return prefix + parts[0] + "." + parts[1]
	}
}

func asIs(v string) string { return v }

// pep503 normalizes a PyPI name: lower case, runs of -, _ and . as one -.
func pep503(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

// goVersion turns Go's "v1.2.3" and "go1.21.0" into the plain semver OSV uses.
func goVersion(v string) string {
	return strings.TrimPrefix(strings.TrimPrefix(v, "go"), "v")
}

// Table is every ecosystem, distributions first.
var Table = []Ecosystem{
	{OSV: "AlmaLinux", PURLType: "rpm", Distro: "almalinux", Release: major},
	{OSV: "Alpine", PURLType: "apk", Distro: "alpine", Release: majorMinor("v"), BySource: true},
	{OSV: "Debian", PURLType: "deb", Distro: "debian", Release: major, BySource: true},
	{OSV: "Rocky Linux", PURLType: "rpm", Distro: "rocky", Release: major},
	{OSV: "Ubuntu", PURLType: "deb", Distro: "ubuntu", Release: asIs, BySource: true},
	{OSV: "Go", PURLType: "golang", Version: goVersion},
	{OSV: "npm", PURLType: "npm"},
	{OSV: "PyPI", PURLType: "pypi", Name: pep503},
	{OSV: "Maven", PURLType: "maven"},
	{OSV: "crates.io", PURLType: "cargo"},
	{OSV: "RubyGems", PURLType: "gem"},
	{OSV: "NuGet", PURLType: "nuget"},
	{OSV: "Packagist", PURLType: "composer"},
}

// Names lists the OSV names of every ecosystem: what `db update` fetches by default.
func Names() []string {
	out := make([]string, len(Table))
	for i, e := range Table {
		out[i] = e.OSV
	}
	return out
}

// Base strips the release from an OSV ecosystem: "Alpine:v3.20" -> "Alpine".
func Base(eco string) string {
	base, _, _ := strings.Cut(eco, ":")
	return base
}

// Lookup finds the row of an OSV ecosystem, with or without its release.
func Lookup(eco string) (Ecosystem, bool) {
	i := slices.IndexFunc(Table, func(e Ecosystem) bool { return e.OSV == Base(eco) })
	if i < 0 {
		return Ecosystem{}, false
	}
	return Table[i], true
}

// ForPURLType returns the OSV ecosystem of a language package URL type ("npm" -> "npm",
// "cargo" -> "crates.io"); distributions need the release too (ForDistro).
func ForPURLType(t string) string {
	for _, e := range Table {
		if e.PURLType == t && !e.IsDistro() {
			return e.OSV
		}
	}
	return ""
}

// ForDistro returns the OSV ecosystem with release of a distribution by its os-release ID
// and VERSION_ID ("debian", "12.4" -> "Debian:12"); "" when imagegate has no advisories
// for it or the release is unknown (its packages are then reported as not checked).
func ForDistro(id, versionID string) string {
	if versionID == "" {
		return ""
	}
	for _, e := range Table {
		if e.Distro == strings.ToLower(id) {
			if r := e.Release(versionID); r != "" {
				return e.OSV + ":" + r
			}
		}
	}
	return ""
}

// IsDistroType reports whether packages of a purl type belong to a distribution.
func IsDistroType(t string) bool {
	return slices.ContainsFunc(Table, func(e Ecosystem) bool { return e.PURLType == t && e.IsDistro() }) || t == "opkg"
}

// NormalizeName gives the form a package name is indexed and looked up by.
func NormalizeName(eco, name string) string {
	if e, ok := Lookup(eco); ok && e.Name != nil {
		return e.Name(name)
	}
	return name
}

// NormalizeVersion gives the form a version is compared in.
func NormalizeVersion(eco, v string) string {
	if e, ok := Lookup(eco); ok && e.Version != nil {
		return e.Version(v)
	}
	return v
}

// BySource reports whether eco's advisories name source packages.
func BySource(eco string) bool {
	e, ok := Lookup(eco)
	return ok && e.BySource
}
