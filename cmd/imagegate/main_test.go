package main

import (
	"bytes"
	stdjson "encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/demo"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/internal/schematest"
	jsonreport "github.com/imagegate/imagegate/reporters/json"
)

// TestMain points every scan at the bundled demo data and keeps the zip index out of the
// user's cache.
func TestMain(m *testing.M) {
	// The test binary doubles as imagegate for tests that need a process of their own
	// (signals): IMAGEGATE_TEST_MAIN=1 runs main with the arguments after "--".
	if os.Getenv("IMAGEGATE_TEST_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"imagegate"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		return
	}
	cache, err := os.MkdirTemp("", "imagegate-test-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	wd, _ := os.Getwd()
	os.Setenv("IMAGEGATE_DB", filepath.Join(wd, "..", "..", demo.DBPath))
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

type runResult struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return runResult{code: code, stdout: out.String(), stderr: errb.String()}
}

func demoPath(t *testing.T) string {
	return filepath.Join(imagetest.RepoRoot(t), demo.ArchivePath)
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	return schematest.CompileBytes(t, "schema.json", jsonreport.Schema)
}

func TestScanDemoJSONMatchesSchema(t *testing.T) {
	r := runCLI(t, "scan", demoPath(t), "--format", "json")
	require.Equal(t, 1, r.code, "the demo has findings: the gate fails; %s", r.stderr)
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		assert.True(t, line == "" || strings.HasPrefix(line, "imagegate: warning: "), "stderr holds only warnings: %q", line)
	}

	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.stdout))
	require.NoError(t, err)
	require.NoError(t, compileSchema(t).Validate(doc))

	var got struct {
		SchemaVersion string `json:"schemaVersion"`
		Image         struct {
			Transport string `json:"transport"`
		} `json:"image"`
		OS struct {
			ID string `json:"id"`
		} `json:"os"`
		Layers   []any `json:"layers"`
		Packages []struct {
			Name  string `json:"name"`
			Layer int    `json:"layer"`
		} `json:"packages"`
		Findings []struct {
			ID string `json:"id"`
		} `json:"findings"`
	}
	require.NoError(t, stdjson.Unmarshal([]byte(r.stdout), &got))
	assert.Equal(t, jsonreport.SchemaVersion, got.SchemaVersion)
	assert.Equal(t, "docker-archive", got.Image.Transport)
	assert.Equal(t, "alpine", got.OS.ID)
	assert.Len(t, got.Layers, 3)
	installed := imagetest.Fixture(t, "pkgdb/alpine320/lib/apk/db/installed")
	apk := 0
	for _, p := range got.Packages {
		if p.Layer == 0 {
			apk++
		}
	}
	assert.Equal(t, strings.Count(string(installed), "\nP:"), apk, "every apk package, in the base layer")
	assert.NotEmpty(t, got.Findings)
}

func TestSchemaRejectsWrongDocuments(t *testing.T) {
	s := compileSchema(t)
	for _, bad := range []string{
		`{}`,
		`{"schemaVersion":"2.0","tool":{"name":"imagegate","version":"x"},"image":{"name":"a","transport":"registry","id":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"layers":[],"packages":[]}`,
		`{"schemaVersion":"1.0","tool":{"name":"imagegate","version":"x"},"image":{"name":"a","transport":"ftp","id":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"layers":[],"packages":[]}`,
	} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		require.NoError(t, err)
		assert.Error(t, s.Validate(doc), bad)
	}
}

func TestScanDemoTable(t *testing.T) {
	r := runCLI(t, "scan", "docker-archive:"+demoPath(t))
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stdout, "FAIL ")
	assert.Contains(t, r.stdout, "Alpine Linux v3.20")
	assert.Regexp(t, `minimist\s+1\.2\.5\s+1\.2\.6\s+1\s+9\.8\s+Prototype Pollution`, r.stdout)
	// The health check (Go 1.22.0) links none of net/http: its standard-library findings
	// are listed apart, not gating, and the verdict counts them.
	assert.Regexp(t, `(?s)Not reachable in their Go binaries \(68, not counted by the gate\).*CVE-2023-45288\s+stdlib 1\.22\.0\s+not-reachable: the vulnerable package net/http is not linked`, r.stdout)
	assert.Contains(t, r.stdout, "; 68 not reachable in their Go binaries (set aside))")
	r = runCLI(t, "scan", "docker-archive:"+demoPath(t), "--reachability", "off")
	assert.Regexp(t, `CVE-2023-45288\s+stdlib\s+1\.22\.0\s+1\.22\.2\s+2`, r.stdout, "reachability off: they gate as before")
	assert.NotContains(t, r.stdout, "not reachable")

	r = runCLI(t, "scan", "docker-archive:"+demoPath(t), "--list-packages", "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "PASS ")
	assert.Regexp(t, `busybox\s+1\.36\.1-r29\s+-\s+0\s+lib/apk/db/installed`, r.stdout)
	assert.NotContains(t, r.stdout, "\x1b[", "no colour when stdout is not a terminal")
}

func TestOutputFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "inventory.json")
	r := runCLI(t, "scan", demoPath(t), "--format", "json", "--output", out)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, stdjson.Valid(b))

	// A failed scan leaves the previous report alone and no temporary file behind.
	r = runCLI(t, "scan", filepath.Join(dir, "missing.tar"), "--format", "json", "--output", out)
	assert.Equal(t, 2, r.code)
	after, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, b, after)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}

func TestExitCodesAndOneLineErrors(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "plain.tar")
	require.NoError(t, os.WriteFile(notImage, imagetest.TarBytes(t, imagetest.File("a", []byte("a"))), 0o644))
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown flag", []string{"scan", "--bogus", "x"}, 2, "unknown flag"},
		{"no image", []string{"scan"}, 2, "one or more IMAGE arguments"},
		{"unknown command", []string{"scna"}, 2, "unknown command"},
		{"bad format", []string{"scan", demoPath(t), "--format", "xml"}, 2, "--format"},
		{"bad platform", []string{"scan", demoPath(t), "--platform", "linux"}, 2, "platform"},
		{"missing file", []string{"scan", filepath.Join(dir, "nope.tar")}, 2, "no such file"},
		{"not an image", []string{"scan", notImage}, 2, "neither a docker-archive"},
		{"output folder missing", []string{"scan", demoPath(t), "-o", filepath.Join(dir, "no", "such", "out.json")}, 2, "does not exist"},
		{"unreachable registry", []string{"scan", "127.0.0.1:1/app:1"}, 3, "cannot reach the registry"},
		{"negative newest in rescan", []string{"rescan", "x.cdx.json", "--newest", "-1"}, 2, "--newest"},
		{"bad layer cache size", []string{"registry", "scan", "127.0.0.1:1", "--layer-cache-max-size", "lots"}, 2, "--layer-cache-max-size"},
		{"no database, remedy as a flag", []string{"scan", demoPath(t), "--db", filepath.Join(dir, "none")}, 3, "or name another database (set --db)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.args...)
			assert.Equal(t, c.code, r.code, r.stderr)
			assert.Empty(t, r.stdout)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			require.Len(t, lines, 1, r.stderr)
			assert.True(t, strings.HasPrefix(lines[0], "imagegate: "), lines[0])
			assert.Contains(t, lines[0], c.msg)
			assert.NotContains(t, r.stderr, "goroutine")
		})
	}
	_, err := os.Stat(filepath.Join(dir, "no"))
	assert.True(t, os.IsNotExist(err), "nothing is created for a missing output folder")
}

func TestRegistryCredentialsFromEnvironment(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.Tree(t, "pkgdb/alpine320")...)})
	reg := imagetest.NewRegistry(t, "bot", "pw")
	ref := reg.Push(t, "app:1", img, nil, authOption("bot", "pw"))

	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no docker login on the test machine
	r := runCLI(t, "scan", ref)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "credentials")

	t.Setenv("IMAGEGATE_USERNAME", "bot")
	t.Setenv("IMAGEGATE_PASSWORD", "pw")
	r = runCLI(t, "scan", ref, "--fail-on-issues=false")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Alpine:v3.20")

	r = runCLI(t, "scan", ref, "--password", "wrong")
	assert.Equal(t, 2, r.code)
	assert.NotContains(t, r.stderr, "wrong")
}

func TestVersion(t *testing.T) {
	r := runCLI(t, "version")
	assert.Equal(t, 0, r.code)
	assert.True(t, strings.HasPrefix(r.stdout, "imagegate "))
}

func authOption(user, pw string) remote.Option {
	return remote.WithAuth(&authn.Basic{Username: user, Password: pw})
}

// The binary links no network clients it never calls: deps.dev and Google Cloud came in
// with osv-scalibr's Java archive extractor (44 MB then). gRPC's types and OAuth2 now come
// with sigstore-go (Rekor's generated types in verification; the OIDC flow of keyless
// signing), and only through it. The size is checked on the built binary by .ci/run.
func TestBinaryLinksNoRemoteClients(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", ".").Output()
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, banned := range []string{"deps.dev/api", "cloud.google.com/"} {
			assert.False(t, strings.HasPrefix(pkg, banned), "imagegate links %s", pkg)
		}
		if strings.HasPrefix(pkg, "github.com/imagegate/imagegate") {
			for _, imp := range strings.Fields(imports) {
				for _, banned := range []string{"google.golang.org/grpc", "golang.org/x/oauth2"} {
					assert.False(t, strings.HasPrefix(imp, banned), "%s imports %s", pkg, imp)
				}
			}
		}
	}
}
