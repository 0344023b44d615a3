package match_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/inventory"
	"github.com/imagegate/imagegate/scanner/match"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// recordStore imports the real OSV records under testdata/osv-records.
func recordStore(t *testing.T) *vulndb.Store {
	t.Helper()
	dir := t.TempDir()
	_, err := vulndb.Import(context.Background(), dir, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv-records"))
	require.NoError(t, err)
	s, err := vulndb.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func run(t *testing.T, s *vulndb.Store, pkgs ...report.Package) []report.Finding {
	t.Helper()
	res, err := match.Match(context.Background(), s, pkgs, match.Options{})
	require.NoError(t, err)
	return res.Findings
}

type want struct {
	id      string
	aliases []string // must be among the aliases
	fixed   []string
}

func TestMatchRealRecords(t *testing.T) {
	s := recordStore(t)
	cases := []struct {
		name string
		pkg  report.Package
		want []want
	}{
		{"debian source package, epoch and +debNuM", report.Package{Ecosystem: "Debian:11", Type: "deb", Name: "libnss3", Version: "2:3.61-1+deb11u1", SourceName: "nss", SourceVersion: "2:3.61-1+deb11u1"},
			[]want{{"CVE-2022-22747", []string{"DSA-5062-1", "DEBIAN-CVE-2022-22747"}, []string{"2:3.61-1+deb11u2"}}}},
		{"debian: fixed version installed is not affected", report.Package{Ecosystem: "Debian:11", Type: "deb", Name: "libnss3", Version: "2:3.61-1+deb11u2", SourceName: "nss", SourceVersion: "2:3.61-1+deb11u2"},
			nil},
		{"debian: a DSA with several CVEs keeps its own id", report.Package{Ecosystem: "Debian:11", Type: "deb", Name: "libssl1.1", Version: "1.1.1n-0+deb11u3", SourceName: "openssl", SourceVersion: "1.1.1n-0+deb11u3"},
			[]want{{"DSA-5343-1", []string{"CVE-2023-0286", "CVE-2022-4304", "DEBIAN-CVE-2023-0286"}, []string{"1.1.1n-0+deb11u4"}}}},
		{"debian: advisories sharing a CVE merge", report.Package{Ecosystem: "Debian:11", Type: "deb", Name: "chromium", Version: "102.0.5005.115-1~deb11u1"},
			[]want{{"DSA-5168-1", []string{"DSA-5187-1", "CVE-2022-2163"}, []string{"103.0.5060.53-1~deb11u1", "103.0.5060.134-1~deb11u1"}}}},
		{"debian: other release", report.Package{Ecosystem: "Debian:12", Type: "deb", Name: "libnss3", Version: "2:3.61-1", SourceName: "nss", SourceVersion: "2:3.61-1"},
			nil},
		{"alpine origin package", report.Package{Ecosystem: "Alpine:v3.20", Type: "apk", Name: "libcrypto3", Version: "3.3.1-r3", SourceName: "openssl", SourceVersion: "3.3.1-r3"},
			[]want{{"CVE-2024-6119", []string{"ALPINE-CVE-2024-6119"}, []string{"3.3.2-r0"}}}},
		{"alpine: another release has no record", report.Package{Ecosystem: "Alpine:v3.19", Type: "apk", Name: "libcrypto3", Version: "3.3.1-r3", SourceName: "openssl"},
			nil},
		{"pypi, PEP 503 name", report.Package{Ecosystem: "PyPI", Type: "pypi", Name: "PyYAML", Version: "5.3.1"},
			[]want{{"CVE-2020-14343", []string{"PYSEC-2021-142", "GHSA-8q59-q68h-6hv4"}, []string{"5.4"}}}},
		{"npm", report.Package{Ecosystem: "npm", Type: "npm", Name: "lodash", Version: "4.17.20"},
			[]want{ // most severe first
				{"CVE-2021-23337", []string{"GHSA-35jh-r3h4-6jhm"}, []string{"4.17.21"}},
				{"CVE-2020-28500", []string{"GHSA-29mw-wpgm-hmr9"}, []string{"4.17.21"}},
			}},
		{"npm fixed", report.Package{Ecosystem: "npm", Type: "npm", Name: "lodash", Version: "4.17.21"}, nil},
		{"npm last_affected is inclusive", report.Package{Ecosystem: "npm", Type: "npm", Name: "lodash.trim", Version: "4.5.1"},
			[]want{{"CVE-2020-28500", []string{"GHSA-29mw-wpgm-hmr9"}, nil}}},
		{"npm after last_affected", report.Package{Ecosystem: "npm", Type: "npm", Name: "lodash.trim", Version: "4.5.2"}, nil},
		{"npm withdrawn record", report.Package{Ecosystem: "npm", Type: "npm", Name: "jsonwebtoken", Version: "8.5.1"}, nil},
		{"maven", report.Package{Ecosystem: "Maven", Type: "maven", Name: "org.apache.commons:commons-text", Version: "1.9"},
			[]want{{"CVE-2022-42889", []string{"GHSA-599f-7c49-w659"}, []string{"1.10.0"}}}},
		{"maven before introduced", report.Package{Ecosystem: "Maven", Type: "maven", Name: "org.apache.commons:commons-text", Version: "1.4"}, nil},
		{"crates.io second interval", report.Package{Ecosystem: "crates.io", Type: "cargo", Name: "smallvec", Version: "1.6.0"},
			[]want{{"CVE-2021-25900", []string{"RUSTSEC-2021-0003"}, []string{"1.6.1"}}}},
		{"crates.io first interval", report.Package{Ecosystem: "crates.io", Type: "cargo", Name: "smallvec", Version: "0.6.13"},
			[]want{{"CVE-2021-25900", nil, []string{"0.6.14"}}}},
		{"crates.io between intervals", report.Package{Ecosystem: "crates.io", Type: "cargo", Name: "smallvec", Version: "0.6.14"}, nil},
		{"crates.io many introduced events", report.Package{Ecosystem: "crates.io", Type: "cargo", Name: "time", Version: "0.2.7"},
			[]want{{"CVE-2020-26235", []string{"RUSTSEC-2020-0071"}, []string{"0.2.23"}}}},
		{"language package owned by the OS", report.Package{Ecosystem: "PyPI", Type: "pypi", Name: "PyYAML", Version: "5.3.1", OSOwned: true}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, s, c.pkg)
			require.Len(t, got, len(c.want), "%+v", got)
			for i, w := range c.want {
				f := got[i]
				assert.Equal(t, w.id, f.ID)
				for _, a := range w.aliases {
					assert.Contains(t, f.Aliases, a)
				}
				assert.NotContains(t, f.Aliases, f.ID)
				assert.Equal(t, w.fixed, f.FixedVersions)
				assert.Equal(t, c.pkg.Name, f.Package.Name)
				assert.NotEmpty(t, f.Fingerprint)
			}
		})
	}
}

func TestSeverityFromCVSS(t *testing.T) {
	s := recordStore(t)
	got := run(t, s, report.Package{Ecosystem: "npm", Type: "npm", Name: "lodash", Version: "4.17.20"})
	require.Len(t, got, 2)
	require.Equal(t, "CVE-2021-23337", got[0].ID)
	require.NotNil(t, got[0].CVSS)
	// GHSA-35jh-r3h4-6jhm carries CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H, base score 7.2.
	assert.Equal(t, "3.1", got[0].CVSS.Version)
	assert.InDelta(t, 7.2, got[0].CVSS.Score, 0.001)
	assert.Equal(t, report.High, got[0].Severity)
	assert.Equal(t, "cvss", got[0].SeveritySource)

	// Debian records carry no severity at all.
	got = run(t, s, report.Package{Ecosystem: "Debian:11", Name: "libnss3", Version: "2:3.61-1+deb11u1", SourceName: "nss", SourceVersion: "2:3.61-1+deb11u1"})
	require.Len(t, got, 1)
	assert.Equal(t, report.Unknown, got[0].Severity)
	assert.Nil(t, got[0].CVSS)
}

func TestIgnoreUnfixedAndFingerprints(t *testing.T) {
	s := recordStore(t)
	pkgs := []report.Package{
		{Ecosystem: "npm", Type: "npm", Name: "lodash.trim", Version: "4.5.1", Locations: []string{"app/node_modules/lodash.trim/package.json"}},
		{Ecosystem: "npm", Type: "npm", Name: "lodash", Version: "4.17.20", Locations: []string{"app/node_modules/lodash/package.json"}},
	}
	all, err := match.Match(context.Background(), s, pkgs, match.Options{})
	require.NoError(t, err)
	unfixed := 0
	for _, f := range all.Findings {
		if !f.Fixed() {
			unfixed++
		}
	}
	require.Equal(t, 1, unfixed, "lodash.trim's advisory has no fix")
	fixedOnly, err := match.Match(context.Background(), s, pkgs, match.Options{IgnoreUnfixed: true})
	require.NoError(t, err)
	require.Len(t, fixedOnly.Findings, len(all.Findings)-unfixed)
	for _, f := range fixedOnly.Findings {
		assert.True(t, f.Fixed())
		assert.Equal(t, "lodash", f.Package.Name)
	}

	// The same package at another version keeps its fingerprint; another location does not.
	pkgs[1].Version = "4.17.19"
	again, err := match.Match(context.Background(), s, pkgs[1:], match.Options{})
	require.NoError(t, err)
	assert.Equal(t, fixedOnly.Findings[0].Fingerprint, again.Findings[0].Fingerprint)
	pkgs[1].Locations = []string{"other/node_modules/lodash/package.json"}
	moved, err := match.Match(context.Background(), s, pkgs[1:], match.Options{})
	require.NoError(t, err)
	assert.NotEqual(t, again.Findings[0].Fingerprint, moved.Findings[0].Fingerprint)
}

func TestUncheckedEcosystemsAreCounted(t *testing.T) {
	s := recordStore(t)
	res, err := match.Match(context.Background(), s, []report.Package{
		{Ecosystem: "RubyGems", Type: "gem", Name: "rails", Version: "5.0.0"},
		{Ecosystem: "", Type: "deb", Name: "x", Version: "1"},
	}, match.Options{})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"RubyGems": 1, "(unknown)": 1}, res.Unchecked)
}

// inventoryOf walks a one-layer image of entries and inventories it.
func inventoryOf(t *testing.T, entries ...imagetest.Entry) *report.Result {
	t.Helper()
	a, err := inventory.New(0)
	require.NoError(t, err)
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, entries...)})
	idx, err := image.Walk(context.Background(), &image.Image{Image: img}, a, image.WithConsumer(a))
	require.NoError(t, err)
	inv, err := a.Analyze(context.Background(), idx, nil)
	require.NoError(t, err)
	return inv
}

func byName(pkgs []report.Package, name string) (report.Package, bool) {
	for _, p := range pkgs {
		if p.Name == name {
			return p, true
		}
	}
	return report.Package{}, false
}

func TestGoBinaryBuiltInTheTest(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	src := filepath.Join(imagetest.RepoRoot(t), "testdata", "gobinary", "jwtapp")
	out := filepath.Join(t.TempDir(), "jwtapp")
	cmd := exec.Command(gobin, "build", "-mod=vendor", "-trimpath", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=vendor", "GOWORK=off", "GOPROXY=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", b)
	bin, err := os.ReadFile(out)
	require.NoError(t, err)

	inv := inventoryOf(t, imagetest.Entry{Path: "usr/local/bin/jwtapp", Body: bin, Mode: 0o755})
	jwt, ok := byName(inv.Packages, "github.com/dgrijalva/jwt-go")
	require.True(t, ok, "%+v", inv.Packages)
	assert.Equal(t, "Go", jwt.Ecosystem)
	assert.Equal(t, []string{"usr/local/bin/jwtapp"}, jwt.Locations)
	std, ok := byName(inv.Packages, "stdlib")
	require.True(t, ok)
	assert.Equal(t, strings.TrimPrefix(runtime.Version(), "go"), std.Version, "the toolchain that built the binary")

	got := run(t, recordStore(t), inv.Packages...)
	var ids []string
	for _, f := range got {
		ids = append(ids, f.ID)
	}
	assert.Contains(t, ids, "CVE-2020-26160") // GO-2020-0017, no fix
	for _, f := range got {
		if f.ID == "CVE-2020-26160" {
			assert.Contains(t, f.Aliases, "GO-2020-0017")
			assert.Empty(t, f.FixedVersions)
		}
	}
}

func TestGoStdlibOfAPublishedBinary(t *testing.T) {
	bin := imagetest.Fixture(t, "gobinary/go1.22-server")
	inv := inventoryOf(t, imagetest.Entry{Path: "srv/server", Body: bin, Mode: 0o755})
	std, ok := byName(inv.Packages, "stdlib")
	require.True(t, ok)
	assert.Equal(t, "1.22.0", std.Version)
	got := run(t, recordStore(t), std)
	require.Len(t, got, 1)
	assert.Equal(t, "CVE-2023-45288", got[0].ID)
	assert.Contains(t, got[0].Aliases, "GO-2024-2687")
	assert.Equal(t, []string{"1.22.2"}, got[0].FixedVersions)

	// Not executable: not a binary to read.
	inv = inventoryOf(t, imagetest.Entry{Path: "srv/server", Body: bin, Mode: 0o644})
	_, ok = byName(inv.Packages, "stdlib")
	assert.False(t, ok)
}

func TestDpkgOwnedPythonPackageIsNotMatchedAsPyPI(t *testing.T) {
	s := recordStore(t)
	debian := append(imagetest.Tree(t, "pkgdb/debian11-base"), imagetest.Symlink("etc/os-release", "../usr/lib/os-release"))
	debian = append(debian, imagetest.Tree(t, "pkgdb/debian11-app")...)
	inv := inventoryOf(t, debian...)
	py, ok := byName(inv.Packages, "PyYAML")
	require.True(t, ok)
	assert.True(t, py.OSOwned, "python3-yaml's dpkg list names the egg-info")
	for _, f := range run(t, s, inv.Packages...) {
		assert.NotEqual(t, "PyPI", f.Package.Ecosystem, "%s %s", f.ID, f.Package.Name)
	}

	// The same metadata installed by pip (no OS package lists it) is matched through PyPI.
	egg := imagetest.Fixture(t, "pkgdb/debian11-app/usr/lib/python3/dist-packages/PyYAML-5.3.1.egg-info")
	inv = inventoryOf(t, append(debian, imagetest.File("usr/local/lib/python3.9/dist-packages/PyYAML-5.3.1.egg-info", egg))...)
	var pypi []string
	for _, f := range run(t, s, inv.Packages...) {
		if f.Package.Ecosystem == "PyPI" {
			pypi = append(pypi, f.ID+"@"+f.Package.Locations[0])
		}
	}
	assert.Equal(t, []string{"CVE-2020-14343@usr/local/lib/python3.9/dist-packages/PyYAML-5.3.1.egg-info"}, pypi)
}

// An Alpine advisory carries no severity: the finding takes the CVSS of the RustSec record
// for the same CVE (the openssl-src crate), and says which record and which identifier.
// One without any such record stays of unknown severity.
func TestScoreBorrowedThroughAlias(t *testing.T) {
	s := recordStore(t)
	fs := run(t, s,
		report.Package{Ecosystem: "Alpine:v3.20", Type: "apk", Name: "libssl1.1", Version: "1.1.1k-r0", SourceName: "openssl", SourceVersion: "1.1.1k-r0"},
		report.Package{Ecosystem: "Alpine:v3.20", Type: "apk", Name: "libcrypto3", Version: "3.3.1-r0", SourceName: "openssl", SourceVersion: "3.3.1-r0"},
	)
	byID := map[string]report.Finding{}
	for _, f := range fs {
		byID[f.ID+" "+f.Package.Name] = f
	}
	got, ok := byID["CVE-2021-3711 libssl1.1"]
	require.True(t, ok, "%v", fs)
	require.NotNil(t, got.CVSS)
	assert.Equal(t, "RUSTSEC-2021-0097", got.CVSS.Source)
	assert.Equal(t, "CVE-2021-3711", got.CVSS.Via)
	assert.Equal(t, 9.8, got.CVSS.Score)
	assert.Equal(t, report.Critical, got.Severity)
	assert.Equal(t, "alias", got.SeveritySource)
	assert.Contains(t, got.SeverityDetail(), "CVSS 3.1 9.8 (RUSTSEC-2021-0097 via CVE-2021-3711)")

	other, ok := byID["CVE-2024-6119 libcrypto3"]
	require.True(t, ok, "%v", fs)
	assert.Nil(t, other.CVSS)
	assert.Equal(t, report.Unknown, other.Severity)
}

// A version that says nothing (syft's UNKNOWN, empty, *, latest) is compared with no
// range: lodash has advisories for every version before 4.17.21, and an SBOM
// component "lodash@UNKNOWN" would otherwise match them. The warning names the package.
func TestVersionsThatSayNothingMatchNothing(t *testing.T) {
	s := recordStore(t)
	var pkgs []report.Package
	for _, v := range []string{"UNKNOWN", "", "*", "latest"} {
		pkgs = append(pkgs, report.Package{Ecosystem: "npm", Type: "npm", Name: "lodash", Version: v})
	}
	res, err := match.Match(context.Background(), s, pkgs, match.Options{})
	require.NoError(t, err)
	assert.Empty(t, res.Findings)
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "4 packages have no version to compare")
	assert.Contains(t, res.Warnings[0], "lodash (npm)")

	// The same package with its version is matched.
	res, err = match.Match(context.Background(), s, []report.Package{{Ecosystem: "npm", Type: "npm", Name: "lodash", Version: "4.17.20"}}, match.Options{})
	require.NoError(t, err)
	assert.NotEmpty(t, res.Findings)
}
