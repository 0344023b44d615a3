package inventory_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	scalibrpurl "github.com/google/osv-scalibr/purl"
	packageurl "github.com/package-url/packageurl-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
)

// specTest is one case of the purl specification's test suite (purl-test.schema-0.2).
type specTest struct {
	Description     string          `json:"description"`
	TestType        string          `json:"test_type"`
	Input           json.RawMessage `json:"input"`
	ExpectedOutput  json.RawMessage `json:"expected_output"`
	ExpectedFailure bool            `json:"expected_failure"`
}

type components struct {
	Type       string            `json:"type"`
	Namespace  *string           `json:"namespace"`
	Name       string            `json:"name"`
	Version    *string           `json:"version"`
	Qualifiers map[string]string `json:"qualifiers"`
	Subpath    *string           `json:"subpath"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// The types imagegate writes, built the way imagegate writes them (osv-scalibr's
// PackageURL, serialized by packageurl-go), give what the specification's own test suite
// expects (testdata/purl-spec: package-url/purl-spec tests/types at 16f3d0e).
func TestPURLSpecBuildCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(imagetest.RepoRoot(t), "testdata", "purl-spec", "*-test.json"))
	require.NoError(t, err)
	require.Len(t, files, 12)
	built := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var suite struct {
			Tests []specTest `json:"tests"`
		}
		require.NoError(t, json.Unmarshal(b, &suite))
		for _, tc := range suite.Tests {
			if tc.TestType != "build" || tc.ExpectedFailure {
				continue
			}
			var in components
			require.NoError(t, json.Unmarshal(tc.Input, &in), tc.Description)
			var want string
			require.NoError(t, json.Unmarshal(tc.ExpectedOutput, &want), tc.Description)
			u := scalibrpurl.PackageURL{Type: in.Type, Namespace: str(in.Namespace), Name: in.Name, Version: str(in.Version),
				Qualifiers: scalibrpurl.QualifiersFromMap(in.Qualifiers), Subpath: str(in.Subpath)}
			assert.Equal(t, want, u.String(), "%s: %s", filepath.Base(f), tc.Description)
			built++
		}
	}
	assert.Greater(t, built, 20)
}

// Every package URL an image's inventory carries is canonical (packageurl-go parses it and
// writes it back unchanged), has no qualifier outside its type's definition, and a Go
// module's keeps the "v" of its version, as syft and Trivy write it.
func TestInventoryPURLsAreCanonical(t *testing.T) {
	jar := imagetest.Fixture(t, "langs/commons-cli-1.5.0.jar")
	app := under("app", imagetest.Tree(t, "npm/demo-app"))
	app = append(app,
		exe("usr/local/bin/server", imagetest.Fixture(t, "gobinary/go1.22-server")),
		imagetest.File("opt/lib/commons-cli-1.5.0.jar", jar),
		imagetest.File("srv/rails/Gemfile.lock", imagetest.Fixture(t, "langs/Gemfile.lock")),
		imagetest.File("srv/php/vendor/composer/installed.json", imagetest.Fixture(t, "langs/installed.json")),
		imagetest.File("src/rust/Cargo.lock", imagetest.Fixture(t, "langs/Cargo.lock")),
		imagetest.File("srv/dotnet/TestLibrary.deps.json", imagetest.Fixture(t, "langs/TestLibrary.deps.json")),
	)
	app = append(app, under("usr/local/lib/python3.11/site-packages", imagetest.Tree(t, "langs/site-packages"))...)
	inv := analyze(t,
		imagetest.Step{CreatedBy: "ADD rootfs.tar.xz /", Layer: imagetest.Layer(t, debianBase(t)...)},
		imagetest.Step{CreatedBy: "COPY . /", Layer: imagetest.Layer(t, app...)},
	)
	alpine := analyze(t, imagetest.Step{CreatedBy: "ADD alpine /", Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/alpine320")...)})
	types := map[string]int{}
	for _, p := range append(inv.Packages, alpine.Packages...) {
		require.NotEmpty(t, p.PURL, "%s %s", p.Ecosystem, p.Name)
		u, err := packageurl.FromString(p.PURL)
		require.NoError(t, err, p.PURL)
		assert.Equal(t, p.PURL, u.ToString(), "canonical")
		types[u.Type]++
		for _, q := range u.Qualifiers {
			assert.Contains(t, allowedQualifiers[u.Type], q.Key, "%s: qualifier %q", p.PURL, q.Key)
		}
		if u.Type == "golang" && u.Version != "(devel)" { // a main module built from a work tree
			assert.True(t, strings.HasPrefix(u.Version, "v"), p.PURL)
		}
	}
	for _, typ := range []string{"deb", "apk", "npm", "golang", "maven", "pypi", "gem", "composer", "cargo", "nuget"} {
		assert.Positive(t, types[typ], "no %s package in the fixtures", typ)
	}
}

// allowedQualifiers are the qualifiers each type's definition names (and the distro
// qualifier OS packages carry, as syft and Trivy write it).
var allowedQualifiers = map[string][]string{
	"deb":    {"arch", "distro", "upstream"},
	"apk":    {"arch", "distro", "upstream"},
	"rpm":    {"arch", "distro", "epoch", "upstream"},
	"maven":  {"classifier", "type"},
	"pypi":   {"file_name"},
	"npm":    {},
	"golang": {},
}
