package inventory_test

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/report"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/inventory"
)

func analyze(t *testing.T, steps ...imagetest.Step) *report.Result {
	t.Helper()
	a, err := inventory.New(0)
	require.NoError(t, err)
	img := imagetest.Image(t, "linux/amd64", steps...)
	idx, err := image.Walk(context.Background(), &image.Image{Image: img}, a, image.WithConsumer(a))
	require.NoError(t, err)
	inv, err := a.Analyze(context.Background(), idx, nil)
	require.NoError(t, err)
	return inv
}

// stanzas parses a dpkg status file independently of the code under test: package name to
// version for every stanza whose status is "installed" (or every stanza when it has no
// Status field, as in distroless status.d files).
func stanzas(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, block := range strings.Split(string(data), "\n\n") {
		var name, version, status string
		sc := bufio.NewScanner(strings.NewReader(block))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "Package: "):
				name = strings.TrimPrefix(line, "Package: ")
			case strings.HasPrefix(line, "Version: "):
				version = strings.TrimPrefix(line, "Version: ")
			case strings.HasPrefix(line, "Status: "):
				status = strings.TrimPrefix(line, "Status: ")
			}
		}
		if name != "" && (status == "" || strings.HasSuffix(status, " installed")) {
			out[name] = version
		}
	}
	return out
}

func debianBase(t *testing.T) []imagetest.Entry {
	return append(imagetest.Tree(t, "pkgdb/debian11-base"), imagetest.Symlink("etc/os-release", "../usr/lib/os-release"))
}

func TestDebianLayerAttribution(t *testing.T) {
	base := stanzas(t, imagetest.Fixture(t, "pkgdb/debian11-base/var/lib/dpkg/status"))
	app := stanzas(t, imagetest.Fixture(t, "pkgdb/debian11-app/var/lib/dpkg/status"))
	require.Greater(t, len(app), len(base))

	inv := analyze(t,
		imagetest.Step{CreatedBy: "ADD rootfs.tar.xz /", Layer: imagetest.Layer(t, debianBase(t)...)},
		imagetest.Step{CreatedBy: "CMD [\"bash\"]"},
		imagetest.Step{CreatedBy: "RUN apt-get install -y python3-yaml openssl", Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/debian11-app")...)},
	)
	require.NotNil(t, inv.OS)
	assert.Equal(t, "debian", inv.OS.ID)
	assert.Equal(t, "11", inv.OS.VersionID)
	assert.Equal(t, "bullseye", inv.OS.Codename)

	got := map[string]report.Package{}
	for _, p := range inv.Packages {
		if p.Type == "deb" {
			got[p.Name] = p
		}
	}
	require.Equal(t, len(app), len(got), "one package per installed stanza of the final status file")
	for name, version := range app {
		p, ok := got[name]
		require.True(t, ok, name)
		assert.Equal(t, version, p.Version, name)
		assert.Equal(t, "Debian:11", p.Ecosystem, name)
		assert.Equal(t, "deb", p.Type)
		assert.Equal(t, []string{"var/lib/dpkg/status"}, p.Locations)
		wantLayer := 1
		if base[name] == version {
			wantLayer = 0
		}
		assert.Equal(t, wantLayer, p.Layer, "layer of %s", name)
	}
	// Source packages are kept: advisories for Debian are per source package.
	assert.Equal(t, "openssl", got["libssl1.1"].SourceName)
	assert.Equal(t, "pyyaml", got["python3-yaml"].SourceName)
	assert.Equal(t, 1, got["python3-yaml"].Layer)
	assert.Contains(t, got["libssl1.1"].PURL, "pkg:deb/debian/libssl1.1@")
	assert.Contains(t, got["libssl1.1"].PURL, "distro=bullseye")
}

func TestPackageUpgradedInALaterLayerBelongsToThatLayer(t *testing.T) {
	baseStatus := imagetest.Fixture(t, "pkgdb/debian11-base/var/lib/dpkg/status")
	// A second layer in which dpkg rewrote the status file with the same packages: every
	// package stays attributed to the base layer.
	inv := analyze(t,
		imagetest.Step{Layer: imagetest.Layer(t, debianBase(t)...)},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("var/lib/dpkg/status", baseStatus))},
	)
	require.NotEmpty(t, inv.Packages)
	for _, p := range inv.Packages {
		assert.Equal(t, 0, p.Layer, p.Name)
	}
}

// Four copies of the database: a package is the oldest layer's from
// which on every copy lists it at its version, whatever copies came between.
func TestAttributionOverManyCopies(t *testing.T) {
	baseStatus := imagetest.Fixture(t, "pkgdb/debian11-base/var/lib/dpkg/status")
	appStatus := imagetest.Fixture(t, "pkgdb/debian11-app/var/lib/dpkg/status")
	base, app := stanzas(t, baseStatus), stanzas(t, appStatus)
	inv := analyze(t,
		imagetest.Step{Layer: imagetest.Layer(t, debianBase(t)...)},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("var/lib/dpkg/status", baseStatus))},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("var/lib/dpkg/status", appStatus))},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("var/lib/dpkg/status", appStatus))},
	)
	n := 0
	for _, p := range inv.Packages {
		if p.Type != "deb" {
			continue
		}
		n++
		want := 2
		if base[p.Name] == p.Version {
			want = 0
		}
		assert.Equal(t, want, p.Layer, p.Name)
	}
	assert.Equal(t, len(app), n)
}

func TestDistrolessStatusD(t *testing.T) {
	entries := append(imagetest.Tree(t, "pkgdb/distroless11"), imagetest.Tree(t, "pkgdb/debian11-base/usr")...)
	for i := range entries {
		if strings.HasPrefix(entries[i].Path, "lib/") || entries[i].Path == "lib" {
			entries[i].Path = "usr/" + entries[i].Path
		}
	}
	entries = append(entries, imagetest.Dir("etc"), imagetest.Symlink("etc/os-release", "../usr/lib/os-release"))
	inv := analyze(t, imagetest.Step{Layer: imagetest.Layer(t, entries...)})
	files := []string{"base-files", "libc6", "libssl1.1", "netbase", "tzdata"}
	require.Len(t, inv.Packages, len(files))
	for _, p := range inv.Packages {
		want := stanzas(t, imagetest.Fixture(t, "pkgdb/distroless11/var/lib/dpkg/status.d/"+p.Name))
		assert.Equal(t, want[p.Name], p.Version, p.Name)
		assert.Equal(t, "Debian:11", p.Ecosystem)
		assert.Equal(t, []string{"var/lib/dpkg/status.d/" + p.Name}, p.Locations)
	}
}

func TestAlpineInstalled(t *testing.T) {
	db := imagetest.Fixture(t, "pkgdb/alpine320/lib/apk/db/installed")
	// Independent count: one "P:" line per package, with its "o:" origin.
	want := map[string]string{}
	var name string
	for _, line := range strings.Split(string(db), "\n") {
		if strings.HasPrefix(line, "P:") {
			name = line[2:]
		}
		if strings.HasPrefix(line, "o:") {
			want[name] = line[2:]
		}
	}
	inv := analyze(t, imagetest.Step{Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/alpine320")...)})
	require.NotNil(t, inv.OS)
	assert.Equal(t, "alpine", inv.OS.ID)
	require.Len(t, inv.Packages, len(want))
	for _, p := range inv.Packages {
		assert.Equal(t, "Alpine:v3.20", p.Ecosystem, p.Name)
		origin := p.SourceName
		if origin == "" {
			origin = p.Name // same as the binary package
		}
		assert.Equal(t, want[p.Name], origin, p.Name)
	}
}

func TestRPMSqlite(t *testing.T) {
	inv := analyze(t, imagetest.Step{Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/rpm")...)})
	got := map[string]report.Package{}
	for _, p := range inv.Packages {
		got[p.Name] = p
	}
	require.Len(t, got, 3)
	assert.Equal(t, "2.10-3", got["hello"].Version)
	assert.Equal(t, "rpm", got["hello"].Type)
	assert.Equal(t, "5.02-1+b1", got["sl"].Version)
	assert.Equal(t, []string{"var/lib/rpm/rpmdb.sqlite"}, got["cowsay"].Locations)
}

func TestDeletedDatabaseYieldsNoPackages(t *testing.T) {
	inv := analyze(t,
		imagetest.Step{Layer: imagetest.Layer(t, debianBase(t)...)},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.Whiteout("var/lib/dpkg/status"))},
	)
	assert.Empty(t, inv.Packages)
}

// A package database that cannot be read makes the inventory incomplete.
func TestCorruptDatabaseMakesItIncomplete(t *testing.T) {
	inv := analyze(t, imagetest.Step{Layer: imagetest.Layer(t,
		imagetest.File("var/lib/dpkg/status", []byte("this is not a status file\n\x00\x01")),
		imagetest.File("var/lib/rpm/rpmdb.sqlite", bytes.Repeat([]byte{0xff}, 4096)),
	)})
	assert.Empty(t, inv.Packages)
	assert.Len(t, inv.Incomplete, 2)
}
