package imagecheck_test

import (
	"archive/tar"
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/analyzer"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/imagecheck"
	"github.com/imagegate/imagegate/scanner/secrets"
)

func check(t *testing.T, cfg func(*v1.ConfigFile), steps ...imagetest.Step) []report.Finding {
	t.Helper()
	img := imagetest.Image(t, "linux/amd64", steps...)
	if cfg != nil {
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		cf = cf.DeepCopy()
		cfg(cf)
		img, err = mutate.ConfigFile(img, cf)
		require.NoError(t, err)
	}
	return analyze(t, img, analyzer.Options{Config: true, Secrets: true}).Findings
}

// analyze walks img once through the analyzers o selects, as a scan does.
func analyze(t *testing.T, img v1.Image, o analyzer.Options) *report.Result {
	t.Helper()
	det, err := secrets.New()
	require.NoError(t, err)
	list, err := analyzer.List(det, o)
	require.NoError(t, err)
	req, opts := analyzer.WalkOptions(list)
	idx, err := image.Walk(context.Background(), &image.Image{Image: img}, req, opts...)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	res := &report.Result{}
	require.NoError(t, analyzer.Run(context.Background(), list, idx, cf, res))
	return res
}

func byID(fs []report.Finding) map[string]report.Finding {
	out := map[string]report.Finding{}
	for _, f := range fs {
		out[f.ID] = f
	}
	return out
}

// good is an image that passes every check.
func good(cf *v1.ConfigFile) {
	cf.Config.User = "10001"
	cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "true"}}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
}

func TestCleanImage(t *testing.T) {
	fs := check(t, good, imagetest.Step{CreatedBy: "COPY app /app # buildkit", Layer: imagetest.Layer(t,
		imagetest.File("app/server.js", []byte("console.log('hi')\n")),
		imagetest.Entry{Path: "tmp", Type: tar.TypeDir, Mode: 0o1777},
		imagetest.File("etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/app:/sbin/nologin\n")),
		imagetest.File("etc/shadow", []byte("root:*:19000:0:99999:7:::\napp:!:19000::::::\n")),
	)})
	assert.Empty(t, fs)
}

func TestConfigChecks(t *testing.T) {
	fs := byID(check(t, func(cf *v1.ConfigFile) {
		cf.Config.User = "0:0"
		cf.Config.Env = []string{"PATH=/usr/bin", "DB_PASSWORD=hunter2-but-longer", "CI_VALUE=npm_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8"}
		cf.Config.Labels = map[string]string{"deploy.token": "glpat-vzDNJu3Lvh4YCCekKsnx", "org.opencontainers.image.source": "https://x"}
		cf.Config.ExposedPorts = map[string]struct{}{"22/tcp": {}, "8080/tcp": {}}
		cf.Config.Volumes = map[string]struct{}{"/proc/sys": {}, "/data": {}}
		cf.History = append(cf.History,
			v1.History{CreatedBy: "RUN |1 NPM_TOKEN=npm_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8 /bin/sh -c npm ci # buildkit", EmptyLayer: true},
			v1.History{CreatedBy: "ADD https://example.com/tool.tgz /opt/ # buildkit", EmptyLayer: true})
	}, imagetest.Step{CreatedBy: "ADD rootfs /", Layer: imagetest.Layer(t, imagetest.File("bin/sh", []byte("x")))}))
	for _, id := range []string{"IC001", "IC002", "IC003", "IC004", "IC005", "IC006", "IC007", "IC008"} {
		assert.Contains(t, fs, id)
	}
	assert.Contains(t, fs["IC001"].Message, "0:0")
	assert.Contains(t, fs["IC007"].Message, "22/tcp (SSH)")
	assert.Contains(t, fs["IC008"].Message, "/proc/sys")
	all := ""
	for _, f := range fs {
		all += f.Message + "\n" + f.Instruction + "\n"
	}
	for _, secret := range []string{"hunter2-but-longer", "npm_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8", "glpat-vzDNJu3Lvh4YCCekKsnx"} {
		assert.NotContains(t, all, secret, "secrets are masked")
	}
}

func TestFileChecks(t *testing.T) {
	// One finding per file (or account), naming it and the layer that added it.
	all := map[string][]string{}
	for _, f := range check(t, good, imagetest.Step{Layer: imagetest.Layer(t,
		imagetest.Entry{Path: "usr/bin/su", Body: []byte("\x7fELF"), Mode: 0o4755},
		imagetest.Entry{Path: "usr/bin/wall", Body: []byte("\x7fELF"), Mode: 0o2755},
		imagetest.Entry{Path: "app/config.yml", Body: []byte("a: 1\n"), Mode: 0o666},
		imagetest.Entry{Path: "tmp/scratch", Body: []byte("x"), Mode: 0o666},
		imagetest.Entry{Path: "app/.git", Type: tar.TypeDir},
		imagetest.File("etc/shadow", []byte("root::19000:0:99999:7:::\napp:*:19000::::::\ntoor::19000::::::\n")),
	)}) {
		all[f.ID] = append(all[f.ID], f.Target+" | "+f.Message)
		assert.Equal(t, 0, f.Layer, "%s %s", f.ID, f.Message)
	}
	assert.Equal(t, []string{"usr/bin/su | /usr/bin/su is setuid (mode 4755)", "usr/bin/wall | /usr/bin/wall is setgid (mode 2755)"}, all["IC009"])
	assert.Equal(t, []string{"app/config.yml | /app/config.yml is world-writable (mode 0666)"}, all["IC010"])

	// A world-writable folder is one finding counting the world-writable entries under it.
	var ww []string
	for _, f := range check(t, good, imagetest.Step{Layer: imagetest.Layer(t,
		imagetest.Entry{Path: "srv", Type: tar.TypeDir, Mode: 0o777},
		imagetest.Entry{Path: "srv/a", Body: []byte("a"), Mode: 0o666},
		imagetest.Entry{Path: "srv/sub", Type: tar.TypeDir, Mode: 0o777},
		imagetest.Entry{Path: "srv/sub/b", Body: []byte("b"), Mode: 0o666},
		imagetest.Entry{Path: "srv/c", Body: []byte("c"), Mode: 0o644},
		imagetest.Entry{Path: "srv2/d", Body: []byte("d"), Mode: 0o666},
	)}) {
		if f.ID == "IC010" {
			ww = append(ww, f.Target+" | "+f.Message)
		}
	}
	assert.Equal(t, []string{"srv | /srv is world-writable (mode 0777), and 3 world-writable entries under it", "srv2/d | /srv2/d is world-writable (mode 0666)"}, ww)
	assert.Equal(t, []string{"etc/shadow | account root has no password in /etc/shadow", "etc/shadow | account toor has no password in /etc/shadow"}, all["IC011"])
	assert.Equal(t, []string{"app/.git | /app/.git"}, all["IC013"])
	var dup []string
	for _, f := range check(t, good, imagetest.Step{Layer: imagetest.Layer(t,
		imagetest.File("etc/passwd", []byte("root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\n")),
		imagetest.File("etc/group", []byte("wheel:x:10:\nstaff:x:10:\n")))}) {
		if f.ID == "IC012" {
			dup = append(dup, f.Message)
		}
	}
	assert.Len(t, dup, 2)
	assert.True(t, strings.Contains(strings.Join(dup, "\n"), "UID 0 is shared by root, toor"))
}

func TestSecretsInEveryLayer(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBvHm9hbmNlYmVhdXR5aW1hZ2VnYXRlZXhhbXBsZWtleWZvcnRlc3Q=\n-----END OPENSSH PRIVATE KEY-----\n"
	fs := check(t, good,
		imagetest.Step{CreatedBy: "COPY id_ed25519 /root/.ssh/ # buildkit", Layer: imagetest.Layer(t, imagetest.File("root/.ssh/id_ed25519", []byte(key)))},
		imagetest.Step{CreatedBy: "RUN rm /root/.ssh/id_ed25519 # buildkit", Layer: imagetest.Layer(t, imagetest.Whiteout("root/.ssh/id_ed25519"))},
		imagetest.Step{CreatedBy: "COPY big /data # buildkit", Layer: imagetest.Layer(t,
			imagetest.File("data/blob.bin", append([]byte{0, 1, 2}, []byte(key)...)), // binary: not searched
			imagetest.File("usr/share/doc/example/README", []byte(key)))},            // documentation: not searched
	)
	var got []report.Finding
	for _, f := range fs {
		if f.Kind == report.KindSecret {
			got = append(got, f)
		}
	}
	require.Len(t, got, 1)
	assert.Equal(t, 0, got[0].Layer)
	assert.Equal(t, "root/.ssh/id_ed25519", got[0].Target)
	assert.Contains(t, got[0].Message, "deleted or replaced by a later layer")
	assert.NotContains(t, got[0].Message, "b3BlbnNzaC1")
	assert.Equal(t, report.Critical, got[0].Severity)
}

// An account file the checks cannot read to its end (a line past 1 MiB hiding the
// accounts after it) leaves the scan incomplete: the accounts before the stop are checked,
// the rest are never a silent pass.
func TestAccountFileReadToItsEndOrIncomplete(t *testing.T) {
	shadow := "root::19000:0:99999:7:::\n# " + strings.Repeat("x", 1<<20) + "\ntoor::19000::::::\n"
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("etc/shadow", []byte(shadow)))})
	res := analyze(t, img, analyzer.Options{Config: true})
	var empty []string
	for _, f := range res.Findings {
		if f.ID == "IC011" {
			empty = append(empty, f.Message)
		}
	}
	assert.Equal(t, []string{"account root has no password in /etc/shadow"}, empty)
	require.Len(t, res.Incomplete, 1)
	assert.Contains(t, res.Incomplete[0], "/etc/shadow not read past line 2")
}

// The secret scan reads at most MaxSecretBytes of text per image; what it skips is a
// warning, not a silent gap.
func TestSecretBudget(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBvHm9hbmNlYmVhdXR5aW1hZ2VnYXRlZXhhbXBsZWtleWZvcnRlc3Q=\n-----END OPENSSH PRIVATE KEY-----\n"
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{CreatedBy: "COPY . /", Layer: imagetest.Layer(t,
		imagetest.File("a/id_ed25519", []byte(key)), imagetest.File("b/id_ed25519", []byte(key)), imagetest.File("c/id_ed25519", []byte(key)))})
	for _, tc := range []struct {
		budget       int64
		found        int
		warningAbout string
	}{{0, 3, ""}, {int64(len(key)) + 1, 1, "2 text files not read"}} {
		res := analyze(t, img, analyzer.Options{Secrets: true, MaxSecretBytes: tc.budget})
		n := 0
		for _, f := range res.Findings {
			if f.Kind == report.KindSecret {
				n++
			}
		}
		assert.Equal(t, tc.found, n, "budget %d", tc.budget)
		if tc.warningAbout == "" {
			assert.Empty(t, res.Incomplete)
		} else {
			require.Len(t, res.Incomplete, 1)
			assert.Contains(t, res.Incomplete[0], tc.warningAbout)
		}
	}
}

func TestEveryCheckIsDescribed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range imagecheck.Rules() {
		assert.Regexp(t, `^IC\d{3}$`, r.ID)
		assert.False(t, seen[r.ID], "%s twice", r.ID)
		seen[r.ID] = true
		assert.NotEmpty(t, r.Title, r.ID)
		assert.NotEmpty(t, r.Rationale, r.ID)
		assert.NotEmpty(t, r.Fix, r.ID)
		assert.Contains(t, r.HelpURI, "#"+strings.ToLower(r.ID))
		assert.Regexp(t, `^((CIS-DI|DKL-DI|DKL-LI)-\d{4})?$`, r.Dockle, r.ID)
		assert.Empty(t, r.Hadolint, r.ID)
	}
	assert.Len(t, seen, 14)
}
