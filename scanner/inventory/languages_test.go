package inventory_test

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/inventory"
)

func under(prefix string, entries []imagetest.Entry) []imagetest.Entry {
	out := make([]imagetest.Entry, len(entries))
	for i, e := range entries {
		e.Path = prefix + "/" + e.Path
		out[i] = e
	}
	return out
}

// war packs jars into WEB-INF/lib of a web archive, the way a servlet app ships.
func war(t *testing.T, jars map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(jars))
	for n := range jars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "WEB-INF/lib/" + n, Method: zip.Store})
		require.NoError(t, err)
		_, err = w.Write(jars[n])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// rustDeps decodes cargo-auditable's .dep-v0 section: zlib-compressed JSON.
func rustDeps(t *testing.T, bin []byte) []string {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	require.NoError(t, err)
	sec := f.Section(".dep-v0")
	require.NotNil(t, sec)
	raw, err := sec.Data()
	require.NoError(t, err)
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	require.NoError(t, err)
	var deps struct {
		Packages []struct{ Name, Version string }
	}
	require.NoError(t, json.NewDecoder(zr).Decode(&deps))
	var out []string
	for _, p := range deps.Packages {
		out = append(out, p.Name+"@"+p.Version)
	}
	require.NotEmpty(t, out)
	return out
}

func exe(path string, body []byte) imagetest.Entry {
	e := imagetest.File(path, body)
	e.Mode = 0o755
	return e
}

// A Debian base with dpkg-owned Python packages, and an app layer with an npm tree, a Go
// binary, Java archives (one nested in a war), a cargo-auditable Rust binary, .NET, Ruby,
// PHP and lockfiles: every package with its ecosystem, location, layer and OS ownership.
func TestLanguageEcosystems(t *testing.T) {
	jar := imagetest.Fixture(t, "langs/commons-cli-1.5.0.jar")
	app := under("app", imagetest.Tree(t, "npm/demo-app"))
	app = append(app,
		exe("usr/local/bin/server", imagetest.Fixture(t, "gobinary/go1.22-server")),
		exe("usr/local/bin/uses_serde_json", imagetest.Fixture(t, "langs/uses_serde_json")),
		imagetest.File("opt/lib/commons-cli-1.5.0.jar", jar),
		imagetest.File("opt/webapps/shop.war", war(t, map[string][]byte{"commons-cli-1.5.0.jar": jar})),
		imagetest.File("srv/dotnet/TestLibrary.deps.json", imagetest.Fixture(t, "langs/TestLibrary.deps.json")),
		imagetest.File("srv/rails/Gemfile.lock", imagetest.Fixture(t, "langs/Gemfile.lock")),
		imagetest.File("usr/local/bundle/specifications/rss-0.2.9.gemspec", imagetest.Fixture(t, "langs/rss-0.2.9.gemspec")),
		imagetest.File("srv/php/vendor/composer/installed.json", imagetest.Fixture(t, "langs/installed.json")),
		imagetest.File("src/rust/Cargo.lock", imagetest.Fixture(t, "langs/Cargo.lock")),
		imagetest.File("srv/py/poetry.lock", imagetest.Fixture(t, "langs/poetry.lock")),
		imagetest.File("srv/web/package-lock.json", imagetest.Fixture(t, "langs/package-lock.json")),
	)
	app = append(app, under("usr/local/lib/python3.11/site-packages", imagetest.Tree(t, "langs/site-packages"))...)
	inv := analyze(t,
		imagetest.Step{CreatedBy: "ADD rootfs.tar.xz /", Layer: imagetest.Layer(t, debianBase(t)...)},
		imagetest.Step{CreatedBy: "RUN apt-get install -y python3-yaml openssl", Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/debian11-app")...)},
		imagetest.Step{CreatedBy: "COPY . /", Layer: imagetest.Layer(t, app...)},
	)
	require.Empty(t, inv.Warnings)

	got := map[string]string{}
	for _, p := range inv.Packages {
		if p.Type == "deb" {
			continue
		}
		key := fmt.Sprintf("%s %s@%s", p.Ecosystem, p.Name, p.Version)
		val := fmt.Sprintf("layer=%d owned=%v at=%v", p.Layer, p.OSOwned, p.Locations)
		if prev, ok := got[key]; ok {
			val = prev + " | " + val
		}
		got[key] = val
	}
	// One entry per independent fact about the fixtures:
	want := map[string]string{
		// dpkg's python3-yaml lists the egg-info: the Python package is the OS's.
		"PyPI PyYAML@5.3.1": "layer=1 owned=true at=[usr/lib/python3/dist-packages/PyYAML-5.3.1.egg-info]",
		// pom.properties of the real jar; the war's copy is found one archive deep, named by its path inside.
		"Maven commons-cli:commons-cli@1.5.0": "layer=2 owned=false at=[opt/lib/commons-cli-1.5.0.jar] | layer=2 owned=false at=[opt/webapps/shop.war:WEB-INF/lib/commons-cli-1.5.0.jar]",
		// Cargo.lock, nothing installed from it (the binary's syn is 2.x).
		"crates.io addr2line@0.15.2": "layer=2 owned=false at=[src/rust/Cargo.lock]",
		"crates.io syn@1.0.73":       "layer=2 owned=false at=[src/rust/Cargo.lock]",
		"RubyGems rss@0.2.9":         "layer=2 owned=false at=[usr/local/bundle/specifications/rss-0.2.9.gemspec]",
		"Packagist sentry/sdk@2.0.4": "layer=2 owned=false at=[srv/php/vendor/composer/installed.json]",
		"PyPI numpy@1.23.3":          "layer=2 owned=false at=[srv/py/poetry.lock]",
		// A dist-info folder as pip installs it (the real monotonic 1.6 wheel's).
		"PyPI monotonic@1.6": "layer=2 owned=false at=[usr/local/lib/python3.11/site-packages/monotonic-1.6.dist-info/METADATA]",
		// A lockfile with no node_modules beside it.
		"npm @babel/code-frame@7.0.0": "layer=2 owned=false at=[srv/web/package-lock.json]",
		"npm wrappy@1.0.2":            "layer=2 owned=false at=[srv/web/package-lock.json]",
		// .NET: the deps.json libraries.
		"NuGet AWSSDK.Core@3.7.10.6":                           "layer=2 owned=false at=[srv/dotnet/TestLibrary.deps.json]",
		"NuGet Microsoft.Extensions.DependencyInjection@6.0.0": "layer=2 owned=false at=[srv/dotnet/TestLibrary.deps.json]",
		// Gemfile.lock.
		"RubyGems rails@7.0.2.2": "layer=2 owned=false at=[srv/rails/Gemfile.lock]",
		// Go build info.
		"Go stdlib@1.22.0": "layer=2 owned=false at=[usr/local/bin/server]",
	}
	// cargo-auditable: every crate of the binary's own .dep-v0 section, decoded here.
	for _, c := range rustDeps(t, imagetest.Fixture(t, "langs/uses_serde_json")) {
		want["crates.io "+c] = "layer=2 owned=false at=[usr/local/bin/uses_serde_json]"
	}
	// npm: every package.json in the installed tree; the lockfile beside it is not read.
	for _, p := range inv.Packages {
		for _, l := range p.Locations {
			assert.NotEqual(t, "app/package-lock.json", l)
		}
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], k)
	}
	// The rest, each list read here from the fixture itself: the exact package set.
	rest := map[string]bool{}
	for _, e := range imagetest.Tree(t, "npm/demo-app") {
		if path.Base(e.Path) == "package.json" {
			var pj struct{ Name, Version string }
			require.NoError(t, json.Unmarshal(e.Body, &pj))
			rest["npm "+pj.Name+"@"+pj.Version] = true
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(imagetest.Fixture(t, "gobinary/go1.22-server")))
	require.NoError(t, err)
	rest["Go "+bi.Main.Path+"@"+bi.Main.Version] = true
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		rest["Go "+d.Path+"@"+strings.TrimPrefix(d.Version, "v")] = true // OSV's Go versions have no "v"
	}
	for _, m := range regexp.MustCompile(`(?m)^    ([A-Za-z0-9_.-]+) \(([^)]+)\)$`).FindAllStringSubmatch(string(imagetest.Fixture(t, "langs/Gemfile.lock")), -1) {
		version, _, _ := strings.Cut(m[2], "-") // "1.13.3-x86_64-linux": the platform is not the version
		rest["RubyGems "+m[1]+"@"+version] = true
	}
	var deps struct{ Libraries map[string]any }
	require.NoError(t, json.Unmarshal(imagetest.Fixture(t, "langs/TestLibrary.deps.json"), &deps))
	for lib := range deps.Libraries {
		name, version, _ := strings.Cut(lib, "/")
		rest["NuGet "+name+"@"+version] = true
	}
	var gotKeys, wantKeys []string
	for k := range got {
		gotKeys = append(gotKeys, k)
	}
	for k := range want {
		rest[k] = true
	}
	for k := range rest {
		wantKeys = append(wantKeys, k)
	}
	sort.Strings(gotKeys)
	sort.Strings(wantKeys)
	assert.Equal(t, wantKeys, gotKeys, "the exact set of non-OS packages")
}

// Broken and hostile language files are warnings; every other package is still found.
func TestBrokenLanguageFilesAreWarnings(t *testing.T) {
	jar := imagetest.Fixture(t, "langs/commons-cli-1.5.0.jar")
	// A nested archive that inflates past the opened-bytes limit: a zip bomb.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, err := zw.Create("WEB-INF/lib/huge.jar")
	require.NoError(t, err)
	zero := make([]byte, 1<<20)
	for range inventory.MaxArchiveBytes>>20 + 1 {
		_, err = w.Write(zero)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.Less(t, bomb.Len(), 2<<20)

	inv := analyze(t, imagetest.Step{CreatedBy: "COPY . /", Layer: imagetest.Layer(t,
		imagetest.File("opt/truncated.jar", jar[:len(jar)/2]),
		imagetest.File("opt/bomb.war", bomb.Bytes()),
		exe("usr/bin/fake-go", append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1}, bytes.Repeat([]byte("Go buildinf:"), 100)...)),
		imagetest.File("opt/ok/commons-cli-1.5.0.jar", jar),
	)})
	var names []string
	for _, p := range inv.Packages {
		names = append(names, p.Name+"@"+p.Version+" "+p.Locations[0])
	}
	assert.Equal(t, []string{"commons-cli:commons-cli@1.5.0 opt/ok/commons-cli-1.5.0.jar"}, names)
	joined := strings.Join(inv.Incomplete, "\n")
	assert.Contains(t, joined, "opt/truncated.jar")
	assert.Contains(t, joined, "opt/bomb.war")
	t.Log(joined)
}

// A 10,000-deep node_modules chain (a 150 KB path) is read in bounded time: every level's
// package.json is a package.
func TestDeepNodeModules(t *testing.T) {
	body := imagetest.Fixture(t, "npm/demo-app/node_modules/ms/package.json")
	var entries []imagetest.Entry
	p := "app"
	for range 10000 {
		p += "/node_modules/ms"
	}
	entries = append(entries, imagetest.File(p+"/package.json", body))
	inv := analyze(t, imagetest.Step{CreatedBy: "COPY . /app", Layer: imagetest.Layer(t, entries...)})
	require.Len(t, inv.Packages, 1)
	assert.Equal(t, "ms", inv.Packages[0].Name)
}
