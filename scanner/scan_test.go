package scanner_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/policy"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

func TestMain(m *testing.M) {
	cache, _ := os.MkdirTemp("", "imagegate-scan-cache")
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

// The secret the app image adds in one layer and deletes in the next (AWS's example shape
// as osv-scalibr's tests use it; not a live key).
const awsSecret = "32r923jr023rk320rk2a3rkB34tj340r32Ckt433"

type fixture struct {
	reg        *imagetest.Registry
	baseRef    string
	appRef     string
	dockerfile string
	lines      map[string]int // instruction prefix -> line in the Dockerfile
}

// baseImage is an Alpine 3.20 base with the history official images have.
func baseImage(t *testing.T, extra ...imagetest.Entry) v1.Image {
	entries := append(imagetest.Tree(t, "pkgdb/alpine320"), extra...)
	return imagetest.Image(t, "linux/amd64",
		imagetest.Step{CreatedBy: "/bin/sh -c #(nop) ADD file:5758b97d8301c84a204a6e516241275d785a7cb5b3d28d5b7e5f2b8a1b8e4b1c in / ", Layer: imagetest.Layer(t, entries...)},
		imagetest.Step{CreatedBy: `/bin/sh -c #(nop)  CMD ["/bin/sh"]`},
	)
}

// appImage builds, on top of base, the layers testdata/attribution/Dockerfile.tmpl's
// final stage makes, with BuildKit's history.
func appImage(t *testing.T, base v1.Image, history []string) v1.Image {
	lodash := imagetest.Fixture(t, "npm/demo-app/node_modules/lodash/package.json")
	layers := map[string]v1.Layer{
		"WORKDIR": imagetest.Layer(t, imagetest.Dir("app")),
		"COPY config/": imagetest.Layer(t, imagetest.Dir("app/config"),
			imagetest.File("app/config/.env", []byte("AWS_ACCESS_KEY_ID=AKIA1984R439T439HTH4\nAWS_SECRET_ACCESS_KEY="+awsSecret+"\n")),
			imagetest.File("app/config/app.yml", []byte("mode: production\n"))),
		"RUN":                imagetest.Layer(t, imagetest.Whiteout("app/config/.env")),
		"COPY --from=build":  imagetest.Layer(t, imagetest.File("app/app", []byte("#!/bin/sh\necho app\n"))),
		"COPY node_modules/": imagetest.Layer(t, imagetest.File("app/node_modules/lodash/package.json", lodash)),
	}
	img := base
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	for _, h := range history {
		entry := v1.History{CreatedBy: h, Created: v1.Time{Time: time.Unix(1700000000, 0)}, EmptyLayer: true}
		for prefix, l := range layers {
			if strings.HasPrefix(h, prefix) {
				img, err = mutate.AppendLayers(img, l)
				require.NoError(t, err)
				entry.EmptyLayer = false
			}
		}
		cf.History = append(cf.History, entry)
	}
	got, err := img.ConfigFile()
	require.NoError(t, err)
	cf.RootFS = got.RootFS
	cf.Config.User = "10001"
	cf.Config.Cmd = []string{"/app/app"}
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	return img
}

var buildkitHistory = []string{
	"WORKDIR /app",
	"COPY config/ /app/config/ # buildkit",
	"RUN /bin/sh -c rm /app/config/.env # buildkit",
	"ENV APP_MODE=production",
	"COPY --from=build /out/app /app/app # buildkit",
	"COPY node_modules/ /app/node_modules/ # buildkit",
	"USER 10001",
	`CMD ["/app/app"]`,
}

func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{reg: imagetest.NewRegistry(t, "", ""), lines: map[string]int{}}
	base := baseImage(t)
	f.baseRef = f.reg.Push(t, "base:1", base, nil)
	f.appRef = f.reg.Push(t, "app:1", appImage(t, base, buildkitHistory), nil)
	tmpl := string(imagetest.Fixture(t, "attribution/Dockerfile.tmpl"))
	src := strings.ReplaceAll(tmpl, "{{BASE}}", f.baseRef)
	f.dockerfile = filepath.Join(t.TempDir(), "Dockerfile")
	require.NoError(t, os.WriteFile(f.dockerfile, []byte(src), 0o644))
	for i, line := range strings.Split(src, "\n") {
		for _, p := range []string{"FROM " + f.baseRef, "COPY config/", "COPY node_modules/", "RUN rm"} {
			if strings.HasPrefix(line, p) {
				f.lines[p] = i + 1
			}
		}
	}
	return f
}

func scan(t *testing.T, r scanner.Request, opts ...scanner.Option) *report.Result {
	t.Helper()
	r.Data = scanner.Data{DB: filepath.Join(imagetest.RepoRoot(t), "testdata", "osv"), MaxAge: 100 * 365 * 24 * time.Hour}
	res, err := scanner.New(opts...).Scan(context.Background(), r)
	require.NoError(t, err)
	return res
}

func TestEveryFindingMapsToItsLine(t *testing.T) {
	f := setup(t)
	res := scan(t, scanner.Request{Image: f.appRef, Dockerfile: scanner.Dockerfile{Path: f.dockerfile}, Base: scanner.Base{Image: f.baseRef}})
	var base, app, secretsFound int
	for _, x := range res.Findings {
		if x.Kind == report.KindDockerfile {
			continue
		}
		if x.Layer < 0 {
			continue // config-wide checks
		}
		require.NotNil(t, x.Location, "%s has no location", x.ID)
		assert.False(t, x.Inferred, "%s", x.ID)
		switch {
		case x.Package != nil && x.Package.Ecosystem == "Alpine:v3.20":
			assert.Equal(t, report.OriginBase, x.Origin)
			assert.Equal(t, f.lines["FROM "+f.baseRef], x.Location.StartLine, x.ID)
			base++
		case x.Package != nil && x.Package.Name == "lodash":
			assert.Equal(t, report.OriginApp, x.Origin)
			assert.Equal(t, f.lines["COPY node_modules/"], x.Location.StartLine, x.ID)
			assert.Contains(t, x.Instruction, "COPY node_modules/")
			app++
		case x.Kind == report.KindSecret:
			assert.Equal(t, 2, x.Layer, "added by the COPY config/ layer")
			assert.Equal(t, f.lines["COPY config/"], x.Location.StartLine)
			assert.Equal(t, report.OriginApp, x.Origin)
			assert.Contains(t, x.Message, "deleted or replaced by a later layer")
			assert.Contains(t, x.Message, "/app/config/.env")
			secretsFound++
		}
	}
	assert.Greater(t, base, 10)
	assert.Greater(t, app, 3)
	assert.GreaterOrEqual(t, secretsFound, 1)
	for _, x := range res.Findings {
		assert.NotEqual(t, "IC001", x.ID, "the image runs as 10001")
	}

	// The secret is never in clear in any report.
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(b), awsSecret)

	// --exclude-base drops exactly the base findings.
	ex := scan(t, scanner.Request{Image: f.appRef, Dockerfile: scanner.Dockerfile{Path: f.dockerfile}, Base: scanner.Base{Image: f.baseRef, Exclude: true}})
	baseCount := 0
	for _, x := range res.Findings {
		if x.Origin == "base" {
			baseCount++
		}
	}
	assert.Equal(t, baseCount, base)
	assert.Equal(t, len(res.Findings)-baseCount, len(ex.Findings))
	for _, x := range ex.Findings {
		assert.NotEqual(t, report.OriginBase, x.Origin)
	}
}

func TestAttributionWithoutBaseImageUsesTheDockerfile(t *testing.T) {
	f := setup(t)
	res := scan(t, scanner.Request{Image: f.appRef, Dockerfile: scanner.Dockerfile{Path: f.dockerfile}})
	for _, x := range res.Findings {
		if x.Package != nil && x.Package.Name == "lodash" {
			assert.Equal(t, report.OriginApp, x.Origin)
			assert.Equal(t, f.lines["COPY node_modules/"], x.Location.StartLine)
			assert.False(t, x.Inferred)
		}
	}
	// Without a Dockerfile either: the history gives the split, marked inferred.
	res = scan(t, scanner.Request{Image: f.appRef})
	for _, x := range res.Findings {
		if x.Package != nil && x.Package.Ecosystem == "Alpine:v3.20" {
			assert.Equal(t, report.OriginBase, x.Origin)
			assert.True(t, x.Inferred)
			assert.Nil(t, x.Location)
		}
	}
}

func TestRetaggedBaseIsReportedAsNewer(t *testing.T) {
	f := setup(t)
	res := scan(t, scanner.Request{Image: f.appRef, Dockerfile: scanner.Dockerfile{Path: f.dockerfile}, Base: scanner.Base{Resolve: true}})
	for _, x := range res.Findings {
		assert.NotEqual(t, "BASE001", x.ID, "the base tag still points at what the image was built on")
	}
	// A new base is pushed under the same tag.
	f.reg.Push(t, "base:1", baseImage(t, imagetest.File("etc/motd", []byte("patched\n"))), nil)
	res = scan(t, scanner.Request{Image: f.appRef, Dockerfile: scanner.Dockerfile{Path: f.dockerfile}, Base: scanner.Base{Resolve: true}})
	var stale *report.Finding
	for i := range res.Findings {
		if res.Findings[i].ID == "BASE001" {
			stale = &res.Findings[i]
		}
	}
	require.NotNil(t, stale)
	assert.Contains(t, stale.Message, f.baseRef+" now points at sha256:")
	assert.Equal(t, f.lines["FROM "+f.baseRef], stale.Location.StartLine)
	for _, x := range res.Findings {
		if x.Package != nil && x.Package.Name == "lodash" {
			assert.Equal(t, f.lines["COPY node_modules/"], x.Location.StartLine, "the Dockerfile still maps the layers")
		}
	}
}

func TestAttributionBadInput(t *testing.T) {
	f := setup(t)
	// A Dockerfile that does not match the image: attribution is inferred, with a warning.
	other := filepath.Join(t.TempDir(), "Dockerfile")
	require.NoError(t, os.WriteFile(other, []byte("FROM "+f.baseRef+"\nRUN echo one\nRUN echo two\nEXPOSE 80\nLABEL a=b\nVOLUME /data\nSTOPSIGNAL TERM\nUSER 1\nCMD [\"x\"]\n"), 0o644))
	res := scan(t, scanner.Request{Image: f.appRef, Dockerfile: scanner.Dockerfile{Path: other}})
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "does not match the image history")
	for _, x := range res.Findings {
		if x.Package != nil {
			assert.True(t, x.Inferred, "never presented as certain")
		}
	}

	// A base image that cannot be resolved: a warning, and the Dockerfile still maps.
	res = scan(t, scanner.Request{Image: f.appRef, Dockerfile: scanner.Dockerfile{Path: f.dockerfile}, Base: scanner.Base{Image: f.reg.Host + "/nothere:1"}})
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "could not be resolved")

	// A history shorter than the layer list.
	base := baseImage(t)
	img := appImage(t, base, buildkitHistory)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.History = cf.History[:3]
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	ref := f.reg.Push(t, "short:1", img, nil)
	res = scan(t, scanner.Request{Image: ref, Dockerfile: scanner.Dockerfile{Path: f.dockerfile}})
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "history describes")
	for _, x := range res.Findings {
		if x.Origin != "" {
			assert.True(t, x.Inferred)
		}
	}
}

func TestBuildArgSecretsAreRedactedEverywhere(t *testing.T) {
	f := setup(t)
	token := "npm_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8"
	base := baseImage(t)
	img := appImage(t, base, append([]string{"RUN |1 NPM_TOKEN=" + token + " /bin/sh -c npm ci # buildkit"}, buildkitHistory...))
	ref := f.reg.Push(t, "args:1", img, nil)
	res := scan(t, scanner.Request{Image: ref})
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(b), token)
	found := false
	for _, x := range res.Findings {
		found = found || x.ID == "IC004"
	}
	assert.True(t, found, "the build argument is reported")
}

// Image checks name each file and config entry with its layer or instruction: a setuid
// program the Dockerfile adds ranks above the base image's (medium, on its RUN line; the
// base's low, on the FROM line), an ignore entry with origin: base accepts the base's as
// a group, and a secret in ENV is reported on the ENV line that set it, masked.
func TestImageChecksNameFilesAndLines(t *testing.T) {
	const secret = "s3cr3t-Passw0rd-value-4711"
	reg := imagetest.NewRegistry(t, "", "")
	base := baseImage(t, imagetest.Entry{Path: "usr/bin/su", Body: []byte("\x7fELF su"), Mode: 0o4755})
	baseRef := reg.Push(t, "base:1", base, nil)
	helper := []byte("#!/bin/sh\necho helper\n")
	app, err := mutate.Append(base,
		mutate.Addendum{History: v1.History{CreatedBy: "ENV DB_PASSWORD=" + secret, EmptyLayer: true}},
		mutate.Addendum{Layer: imagetest.Layer(t, imagetest.Entry{Path: "usr/local/bin/helper", Body: helper, Mode: 0o755}),
			History: v1.History{CreatedBy: "COPY helper /usr/local/bin/helper # buildkit"}},
		mutate.Addendum{Layer: imagetest.Layer(t, imagetest.Entry{Path: "usr/local/bin/helper", Body: helper, Mode: 0o4755}),
			History: v1.History{CreatedBy: "RUN |1 DB_PASSWORD=" + secret + " /bin/sh -c chmod 4755 /usr/local/bin/helper # buildkit"}},
		mutate.Addendum{History: v1.History{CreatedBy: "USER 10001", EmptyLayer: true}},
	)
	require.NoError(t, err)
	cf, err := app.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.Config.User = "10001"
	cf.Config.Env = append(cf.Config.Env, "DB_PASSWORD="+secret)
	app, err = mutate.ConfigFile(app, cf)
	require.NoError(t, err)
	appRef := reg.Push(t, "app:1", app, nil)
	dockerfile := filepath.Join(t.TempDir(), "Dockerfile")
	require.NoError(t, os.WriteFile(dockerfile, []byte("FROM "+baseRef+"\nARG DB_PASSWORD\nENV DB_PASSWORD=$DB_PASSWORD\nCOPY helper /usr/local/bin/helper\nRUN chmod 4755 /usr/local/bin/helper\nUSER 10001\n"), 0o644))

	res := scan(t, scanner.Request{Image: appRef, Dockerfile: scanner.Dockerfile{Path: dockerfile}, Base: scanner.Base{Image: baseRef}})
	got := map[string]report.Finding{}
	for _, f := range res.Findings {
		if f.Kind == report.KindImage {
			got[f.ID+" "+f.Target] = f
		}
	}
	su, ok := got["IC009 usr/bin/su"]
	require.True(t, ok, "%v", got)
	assert.Equal(t, report.OriginBase, su.Origin)
	assert.Equal(t, report.Low, su.Severity)
	assert.Equal(t, 1, su.Location.StartLine, "the FROM line")
	h, ok := got["IC009 usr/local/bin/helper"]
	require.True(t, ok, "%v", got)
	assert.Equal(t, report.OriginApp, h.Origin)
	assert.Equal(t, report.Medium, h.Severity, "added by the application: above the base's")
	assert.Equal(t, 5, h.Location.StartLine, "the RUN chmod line")
	assert.Contains(t, h.Message, "/usr/local/bin/helper is setuid (mode 4755)")
	env, ok := got["IC002 "]
	require.True(t, ok, "%v", got)
	assert.Equal(t, 3, env.Location.StartLine, "the ENV line, not the top layer's instruction")
	assert.Equal(t, report.OriginApp, env.Origin)
	assert.True(t, strings.HasPrefix(env.Instruction, "ENV DB_PASSWORD=s3cr…"), env.Instruction)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(b), secret)

	// The base's setuid programs accepted as a group; the application's still counts.
	res = scan(t, scanner.Request{Image: appRef, Dockerfile: scanner.Dockerfile{Path: dockerfile}, Base: scanner.Base{Image: baseRef},
		Config: &config.Config{Ignore: []policy.Ignore{{Rule: "IC009", Origin: "base", Reason: "the base image's usual setuid programs", Source: "test:1"}}}})
	for _, f := range res.Findings {
		if f.ID == "IC009" {
			assert.Equal(t, f.Origin == "base", f.Suppressed != nil, "%s %s", f.Target, f.Origin)
		}
	}
}

type countingTransport struct {
	n atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// A database artifact named by --db oci://REF is pulled with the scan's registry settings
// (its transport here; plain HTTP and the docker keychain in use), not the defaults.
func TestDatabaseArtifactUsesTheScansRegistrySettings(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := imagetest.NewRegistry(t, "", "")
	src := t.TempDir()
	_, err := vulndb.Import(context.Background(), src, filepath.Join(imagetest.RepoRoot(t), "testdata", "osv", "npm", "all.zip"))
	require.NoError(t, err)
	ref := reg.Host + "/imagegate/db:1"
	signer := imagetest.NewSigner(t)
	_, err = vulndb.Push(context.Background(), src, ref, vulndb.RemoteOptions{Signer: signer.Key})
	require.NoError(t, err)
	tr := &countingTransport{}
	res, err := scanner.New(scanner.WithTransport(tr)).Scan(context.Background(), scanner.Request{
		Image:    filepath.Join(imagetest.RepoRoot(t), "testdata", "demo", "demo-image.tar"),
		Data:     scanner.Data{DB: vulndb.ArtifactScheme + ref, MaxAge: 100 * 365 * 24 * time.Hour, Verifier: signer.Verifier},
		Registry: scanner.Registry{Insecure: true},
	})
	require.NoError(t, err)
	assert.Positive(t, tr.n.Load(), "the pull went through the scan's transport")
	for _, w := range res.Warnings {
		assert.NotContains(t, w, "unsigned", "verified: no warning")
	}
	// The opt-out: the same data unsigned under another tag, used and warned of.
	unsigned := reg.Host + "/imagegate/db:unsigned"
	_, err = vulndb.Push(context.Background(), src, unsigned, vulndb.RemoteOptions{})
	require.NoError(t, err)
	res, err = scanner.New().Scan(context.Background(), scanner.Request{
		Image:    filepath.Join(imagetest.RepoRoot(t), "testdata", "demo", "demo-image.tar"),
		Data:     scanner.Data{DB: vulndb.ArtifactScheme + unsigned, MaxAge: 100 * 365 * 24 * time.Hour, Unsigned: true},
		Registry: scanner.Registry{Insecure: true},
	})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "comes from "+unsigned+" unsigned")
	found := false
	for _, f := range res.Findings {
		found = found || f.ID == "CVE-2021-44906"
	}
	assert.True(t, found, "minimist's advisory, from the pulled npm data")
}
