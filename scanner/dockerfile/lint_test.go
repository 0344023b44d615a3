package dockerfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/dockerfile"
)

func TestInlineIgnores(t *testing.T) {
	src := `FROM alpine:3.20@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5
# imagegate ignore=DF022
RUN apk add --no-cache curl
# hadolint ignore=DL3018,DL3019
RUN apk add jq
RUN apk add --no-cache git
USER app
HEALTHCHECK CMD ["true"]
`
	fs := lintText(t, src, false)
	var lines []int
	for _, f := range fs {
		if f.ID == "DF022" || f.ID == "DF021" {
			lines = append(lines, f.Location.StartLine)
		}
	}
	assert.Equal(t, []int{6}, lines, "only the RUN without an ignore comment reports")
}

func TestOptionsDisableAndSeverity(t *testing.T) {
	src := "FROM alpine:3.20\nRUN apk add --no-cache curl\n"
	d, err := dockerfile.Parse("Dockerfile", []byte(src))
	require.NoError(t, err)
	all := ids(dockerfile.Lint(d, dockerfile.Options{}))
	require.Contains(t, all, "DF003")
	require.Contains(t, all, "DF022")
	fs := dockerfile.Lint(d, dockerfile.Options{Disabled: []string{"DF003", "DL3018"}, Severity: map[string]report.Severity{"DF001": report.Critical}})
	assert.NotContains(t, ids(fs), "DF003")
	assert.NotContains(t, ids(fs), "DF022", "disabled by its hadolint id")
	for _, f := range fs {
		if f.ID == "DF001" {
			assert.Equal(t, report.Critical, f.Severity)
			assert.Equal(t, report.Critical, f.Rule.Severity)
		}
	}
}

func TestMultiStageOnlyFinalStageMatters(t *testing.T) {
	src := `FROM golang:1.22@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5 AS build
USER root
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 && rm -rf /var/lib/apt/lists/*
EXPOSE 22
FROM gcr.io/distroless/static@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5
COPY --from=build /out/app /app
USER 65532
HEALTHCHECK CMD ["/app", "health"]
ENTRYPOINT ["/app"]
`
	got := ids(lintText(t, src, false))
	for _, id := range []string{"DF001", "DF002", "DF013", "DF054", "DF055"} {
		assert.NotContains(t, got, id, "the build stage's root user, compiler and port do not ship")
	}
}

func TestArgSubstitutionIntoFrom(t *testing.T) {
	d, err := dockerfile.Parse("Dockerfile", []byte("ARG VERSION=3.20\nARG REGISTRY=docker.io/library\nFROM ${REGISTRY}/alpine:${VERSION}\n"))
	require.NoError(t, err)
	assert.Equal(t, "docker.io/library/alpine:3.20", d.Final().Base)
	assert.Equal(t, "${REGISTRY}/alpine:${VERSION}", d.Final().BaseRaw)
	assert.Equal(t, "3.20", d.MetaArgs["VERSION"])
}

func TestHeredocsContinuationsAndEscape(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\n# escape=`\nFROM alpine:3.20\nRUN <<EOF\nset -e\napk add curl\nEOF\nRUN apk add --no-cache `\n    jq\n"
	d, err := dockerfile.Parse("Dockerfile", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, '`', d.Escape)
	assert.Equal(t, "docker/dockerfile:1", d.Syntax)
	fs := dockerfile.Lint(d, dockerfile.Options{})
	var df21, df22 []int
	for _, f := range fs {
		switch f.ID {
		case "DF021":
			df21 = append(df21, f.Location.StartLine)
		case "DF022":
			df22 = append(df22, f.Location.StartLine)
		}
	}
	assert.Equal(t, []int{4}, df21, "the heredoc's apk add has no --no-cache")
	assert.Equal(t, []int{4, 8}, df22)
	for _, f := range fs {
		if f.ID == "DF022" && f.Location.StartLine == 8 {
			assert.Equal(t, 9, f.Location.EndLine)
		}
	}
}

func TestDockerignore(t *testing.T) {
	src := body("COPY . /app")
	write := func(dir, name, content string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}

	// A .dockerignore that forgets keys and credentials.
	dir := t.TempDir()
	write(dir, "Dockerfile", src)
	write(dir, ".dockerignore", ".git\nnode_modules\n")
	d, err := dockerfile.ParseFile(filepath.Join(dir, "Dockerfile"))
	require.NoError(t, err)
	fs := dockerfile.Lint(d, dockerfile.Options{})
	msg := messageOf(fs, "DF012")
	assert.Contains(t, msg, ".env")
	assert.Contains(t, msg, "*.pem")
	assert.NotContains(t, msg, ".git,")

	// With the context folder given, the real files are checked.
	write(dir, ".env", "DB_PASSWORD=x\n")
	write(dir, "deploy/server.key", "key\n")
	write(dir, "src/main.go", "package main\n")
	write(dir, ".git/config", "[core]\n")
	fs = dockerfile.Lint(d, dockerfile.Options{ContextDir: dir})
	msg = messageOf(fs, "DF012")
	assert.Contains(t, msg, ".env")
	assert.Contains(t, msg, "deploy/server.key")
	assert.NotContains(t, msg, ".git", "excluded by .dockerignore")
	assert.NotContains(t, msg, "main.go")

	// Excluding them silences the rule; Dockerfile.dockerignore takes precedence.
	write(dir, "Dockerfile.dockerignore", ".git\n.env\n**/*.key\n")
	d, err = dockerfile.ParseFile(filepath.Join(dir, "Dockerfile"))
	require.NoError(t, err)
	fs = dockerfile.Lint(d, dockerfile.Options{ContextDir: dir})
	assert.NotContains(t, ids(fs), "DF012")
	assert.NotContains(t, ids(fs), "DF011")
}

func messageOf(fs []report.Finding, id string) string {
	for _, f := range fs {
		if f.ID == id {
			return f.Message
		}
	}
	return ""
}

func TestBadInput(t *testing.T) {
	heredoc := "FROM alpine:3.20\nRUN <<EOF\napk add curl\n"
	big := "FROM alpine:3.20\n" + strings.Repeat("RUN echo "+strings.Repeat("x", 1000)+"\n", 10*1024)
	cases := []struct {
		name string
		src  []byte
		msg  string
	}{
		{"empty", []byte(""), "no instructions"},
		{"only comments", []byte("# nothing here\n"), "no instructions"},
		{"binary", []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), "not a text file"},
		{"invalid utf-8", []byte("FROM alpine\nRUN echo \xff\xfe\n"), "2: not valid UTF-8"},
		{"no FROM", []byte("RUN echo hi\n"), "no FROM"},
		{"too large", []byte(strings.Repeat("#", dockerfile.MaxSize+1)), "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dockerfile.Parse("Dockerfile", c.src)
			require.Error(t, err)
			assert.Equal(t, failure.ExitInput, failure.Code(err))
			assert.Contains(t, err.Error(), c.msg)
			assert.NotContains(t, err.Error(), "\n")
		})
	}

	// An unterminated heredoc and unknown instructions parse; the rules say what is wrong.
	d, err := dockerfile.Parse("Dockerfile", []byte(heredoc))
	if err == nil {
		dockerfile.Lint(d, dockerfile.Options{})
	} else {
		assert.Equal(t, failure.ExitInput, failure.Code(err))
	}
	d, err = dockerfile.Parse("Dockerfile", []byte("FROM alpine:3.20\nFROBNICATE now\nCOPY x\n"))
	require.NoError(t, err)
	var lines []int
	for _, f := range dockerfile.Lint(d, dockerfile.Options{}) {
		if f.ID == "DF059" {
			lines = append(lines, f.Location.StartLine)
			assert.NotEmpty(t, f.Message)
		}
	}
	assert.Equal(t, []int{2, 3}, lines)

	// A 10 MB Dockerfile is linted whole.
	d, err = dockerfile.Parse("Dockerfile", []byte(big))
	require.NoError(t, err)
	assert.Len(t, d.Instructions, 10*1024+1)

	_, err = dockerfile.ParseFile(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	_, err = dockerfile.ParseFile(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "folder")
}
