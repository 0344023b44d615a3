package dockerfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/dockerfile"
)

// ok is a Dockerfile that follows every rule; cases change it to break one.
const ok = `FROM alpine:3.20@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5
RUN addgroup -S app && adduser -S app -G app
USER app
HEALTHCHECK CMD ["true"]
CMD ["app"]
`

// lintText lints Dockerfile source in a folder that has a .dockerignore (unless noIgnore).
func lintText(t *testing.T, src string, noIgnore bool) []report.Finding {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
	if !noIgnore {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(".git\n.env\n*.pem\n*.key\nid_rsa\nid_ed25519\n.npmrc\n.pypirc\n.aws\n.docker\n.netrc\n"), 0o644))
	}
	d, err := dockerfile.ParseFile(p)
	require.NoError(t, err, src)
	return dockerfile.Lint(d, dockerfile.Options{})
}

func ids(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// body wraps instructions in the ok Dockerfile's final stage.
func body(lines ...string) string {
	return strings.Replace(ok, "USER app\n", "USER app\n"+strings.Join(lines, "\n")+"\n", 1)
}

type ruleCase struct {
	bad, good []string
	noIgnore  bool
}

var cases = map[string]ruleCase{
	"DF001": {
		bad:  []string{"FROM alpine:3.20\nCMD [\"sh\"]\n", "FROM golang:1.22 AS build\nUSER nobody\nFROM alpine:3.20\nCMD [\"x\"]\n"},
		good: []string{ok, "FROM gcr.io/distroless/static:nonroot\n", "FROM alpine AS base\nUSER 1000\nFROM base\n", "FROM scratch\nCOPY x /x\n"},
	},
	"DF002": {
		bad:  []string{body("USER root"), body("USER 0:0"), "FROM alpine AS b\nUSER root\nFROM b\n"},
		good: []string{ok, "FROM alpine AS b\nUSER root\nFROM alpine\nUSER app\n"},
	},
	"DF003": {
		bad:  []string{"FROM alpine:3.20\n", "FROM golang:1.22 AS build\nFROM " + "alpine@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5\n"},
		good: []string{ok, "FROM scratch\n", "FROM alpine@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5 AS a\nFROM a\n"},
	},
	"DF004": {
		bad:  []string{"FROM alpine:latest\n", "ARG TAG=latest\nFROM alpine:${TAG}\n"},
		good: []string{ok, "FROM alpine:3.20\n", "FROM alpine:latest@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5\n"},
	},
	"DF005": {
		bad:  []string{"FROM alpine\n", "FROM registry.example.com:5000/team/app\n"},
		good: []string{ok, "FROM alpine:3.20\n", "FROM alpine:3 AS build\nFROM build\n"},
	},
	"DF006": {
		bad:  []string{body("ADD app.conf /etc/app.conf")},
		good: []string{body("COPY app.conf /etc/app.conf"), body("ADD rootfs.tar.gz /")},
	},
	"DF007": {
		bad:  []string{body("ADD https://example.com/app.tgz /tmp/")},
		good: []string{body("ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/app.tgz /tmp/")},
	},
	"DF008": {
		bad:  []string{body("ADD rootfs.tar.xz /")},
		good: []string{body("COPY rootfs.tar.xz /tmp/"), body("ADD https://example.com/x.tar.gz /tmp/")},
	},
	"DF009": {
		bad:  []string{body("ENV DB_PASSWORD=hunter2"), body("ENV GITHUB_TOKEN ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), body("ENV CI_VALUE=npm_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8")},
		good: []string{body("ENV DB_PASSWORD_FILE=/run/secrets/db"), body("ENV TOKEN_URL=https://auth.example.com"), body("ENV DB_PASSWORD=${DB_PASSWORD}"), body("ENV NODE_ENV=production")},
	},
	"DF010": {
		bad:  []string{body("ARG NPM_TOKEN"), "ARG API_KEY=abc\nFROM alpine:3.20\n"},
		good: []string{body("ARG VERSION=1.2.3"), body("ARG TOKEN_PATH")},
	},
	"DF011": {
		bad:      []string{body("COPY . /app"), body("ADD ./ /app")},
		good:     []string{body("COPY src/ /app/src/"), body("COPY --from=build . /app")},
		noIgnore: true,
	},
	"DF012": {
		bad:  []string{}, // needs a .dockerignore that lets files in: TestDockerignore
		good: []string{body("COPY . /app")},
	},
	"DF013": {
		bad:  []string{body("RUN apk add --no-cache gcc=13.2.1_git20240309-r0 make=4.4.1-r2")},
		good: []string{"FROM golang:1.22 AS build\nRUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 && rm -rf /var/lib/apt/lists/*\n" + ok, body("RUN apk add --no-cache curl=8.9.1-r1")},
	},
	"DF014": {
		bad:  []string{body("RUN set -o pipefail && curl -fsSL https://get.example.com | sh"), body("RUN set -o pipefail && wget -qO- https://x.example.com/i.sh | bash -s -- --yes")},
		good: []string{body("RUN curl -fsSLo /tmp/i.sh https://get.example.com && sha256sum -c i.sha256 && sh /tmp/i.sh"), body("RUN set -o pipefail && curl -fsSL https://x.example.com/a.tgz | tar -xz")},
	},
	"DF015": {
		bad:  []string{body("RUN apt-get update && apt-get install --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*")},
		good: []string{body("RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*"), body("RUN apt-get -qq install --no-install-recommends curl=7 && rm -rf /var/lib/apt/lists/*")},
	},
	"DF016": {
		bad:  []string{body("RUN apt-get install -y curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*")},
		good: []string{body("RUN apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*")},
	},
	"DF017": {
		bad:  []string{body("RUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*")},
		good: []string{body("RUN apt-get install -y --no-install-recommends curl=7.88.1-10 ./local.deb && rm -rf /var/lib/apt/lists/*")},
	},
	"DF018": {
		bad:  []string{body("RUN apt-get update && apt-get install -y --no-install-recommends curl=7")},
		good: []string{body("RUN apt-get update && apt-get install -y --no-install-recommends curl=7 && rm -rf /var/lib/apt/lists/*"), body("RUN --mount=type=cache,target=/var/lib/apt apt-get install -y --no-install-recommends curl=7")},
	},
	"DF019": {
		bad:  []string{body("RUN apt-get update && apt-get -y upgrade")},
		good: []string{body("RUN apt-get update")},
	},
	"DF020": {
		bad:  []string{body("RUN apt install -y curl")},
		good: []string{body("RUN apt-get update")},
	},
	"DF021": {
		bad:  []string{body("RUN apk add curl=8.9.1-r1")},
		good: []string{body("RUN apk add --no-cache curl=8.9.1-r1"), body("RUN apk add curl=8.9.1-r1 && rm -rf /var/cache/apk/*")},
	},
	"DF022": {
		bad:  []string{body("RUN apk add --no-cache curl")},
		good: []string{body("RUN apk add --no-cache curl=8.9.1-r1 --virtual .deps")},
	},
	"DF023": {
		bad:  []string{body("RUN apk upgrade --no-cache")},
		good: []string{body("RUN apk add --no-cache curl=8.9.1-r1")},
	},
	"DF024": {
		bad:  []string{body("RUN yum install httpd-2.4.57 && yum clean all")},
		good: []string{body("RUN yum install -y httpd-2.4.57 && yum clean all")},
	},
	"DF025": {
		bad:  []string{body("RUN yum install -y httpd && yum clean all")},
		good: []string{body("RUN yum install -y httpd-2.4.57 && yum clean all")},
	},
	"DF026": {
		bad:  []string{body("RUN yum install -y httpd-2.4.57")},
		good: []string{body("RUN yum install -y httpd-2.4.57 && yum clean all")},
	},
	"DF027": {
		bad:  []string{body("RUN dnf install httpd-2.4.57 && dnf clean all")},
		good: []string{body("RUN dnf install -y httpd-2.4.57 && dnf clean all"), body("RUN microdnf install -y httpd-2.4.57 && microdnf clean all")},
	},
	"DF028": {
		bad:  []string{body("RUN dnf install -y httpd && dnf clean all")},
		good: []string{body("RUN dnf install -y httpd-2.4.57 && dnf clean all")},
	},
	"DF029": {
		bad:  []string{body("RUN dnf install -y httpd-2.4.57")},
		good: []string{body("RUN dnf install -y httpd-2.4.57 && dnf clean all")},
	},
	"DF030": {
		bad:  []string{body("RUN zypper install curl=8.0.1 && zypper clean")},
		good: []string{body("RUN zypper --non-interactive install curl=8.0.1 && zypper clean"), body("RUN zypper install -y curl=8.0.1 && zypper clean")},
	},
	"DF031": {
		bad:  []string{body("RUN zypper -n install curl && zypper clean")},
		good: []string{body("RUN zypper -n install curl=8.0.1 && zypper clean")},
	},
	"DF032": {
		bad:  []string{body("RUN zypper -n install curl=8.0.1")},
		good: []string{body("RUN zypper -n install curl=8.0.1 && zypper clean")},
	},
	"DF033": {
		bad:  []string{body("RUN zypper -n dist-upgrade")},
		good: []string{body("RUN zypper -n refresh")},
	},
	"DF034": {
		bad:  []string{body("RUN pip install --no-cache-dir flask"), body("RUN python3 -m pip install --no-cache-dir requests")},
		good: []string{body("RUN pip install --no-cache-dir flask==3.0.3"), body("RUN pip install --no-cache-dir -r requirements.txt")},
	},
	"DF035": {
		bad:  []string{body("RUN pip3 install flask==3.0.3")},
		good: []string{body("RUN pip3 install --no-cache-dir flask==3.0.3"), body("ENV PIP_NO_CACHE_DIR=1", "RUN pip install flask==3.0.3")},
	},
	"DF036": {
		bad:  []string{body("RUN npm install -g typescript")},
		good: []string{body("RUN npm install -g typescript@5.6.3"), body("RUN npm ci"), body("RUN npm install -g @angular/cli@18.2.0")},
	},
	"DF037": {
		bad:  []string{body("RUN gem install bundler")},
		good: []string{body("RUN gem install bundler:2.5.22"), body("RUN gem install bundler -v 2.5.22")},
	},
	"DF038": {
		bad:  []string{body("RUN go install golang.org/x/tools/gopls@latest"), body("RUN go install github.com/golangci/golangci-lint/cmd/golangci-lint")},
		good: []string{body("RUN go install golang.org/x/tools/gopls@v0.16.2")},
	},
	"DF039": {
		bad:  []string{body("RUN sudo chown app /data")},
		good: []string{body("RUN chown app /data")},
	},
	"DF040": {
		bad:  []string{body("RUN cd /app && make")},
		good: []string{body("WORKDIR /app", "RUN make")},
	},
	"DF041": {
		bad:  []string{body("WORKDIR app")},
		good: []string{body("WORKDIR /app"), body("WORKDIR $HOME/app")},
	},
	"DF042": {
		bad:  []string{strings.Replace(ok, `CMD ["app"]`, "CMD app --port 80", 1), body("ENTRYPOINT /entrypoint.sh")},
		good: []string{ok, body(`ENTRYPOINT ["/entrypoint.sh"]`)},
	},
	"DF043": {
		bad:  []string{body(`CMD ["a"]`)},
		good: []string{ok, "FROM alpine:3 AS a\nCMD [\"x\"]\nFROM alpine:3\nCMD [\"y\"]\n"},
	},
	"DF044": {
		bad:  []string{body(`ENTRYPOINT ["a"]`, `ENTRYPOINT ["b"]`)},
		good: []string{body(`ENTRYPOINT ["a"]`)},
	},
	"DF045": {
		bad:  []string{body("MAINTAINER dev@example.com")},
		good: []string{body(`LABEL org.opencontainers.image.authors="dev@example.com"`)},
	},
	"DF046": {
		bad:  []string{body("RUN wget -qO- https://example.com/a.tgz | tar -xz")},
		good: []string{body("RUN set -o pipefail && wget -qO- https://example.com/a.tgz | tar -xz"), body(`SHELL ["/bin/bash", "-o", "pipefail", "-c"]`, "RUN wget -qO- https://example.com/a.tgz | tar -xz"), body("RUN set -euo pipefail; curl -s x | tar -x")},
	},
	"DF047": {
		bad:  []string{"FROM golang:1.22 AS build\nFROM alpine:3\nCOPY --from=biuld /out /out\n", "FROM alpine:3 AS a\nCOPY --from=b /x /x\nFROM alpine:3 AS b\n"},
		good: []string{"FROM golang:1.22 AS build\nFROM alpine:3\nCOPY --from=build /out /out\n", "FROM alpine:3\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\n", "FROM golang:1.22\nFROM alpine:3\nCOPY --from=0 /out /out\n"},
	},
	"DF048": {
		bad:  []string{"FROM alpine:3 AS a\nCOPY --from=a /x /x\n"},
		good: []string{"FROM alpine:3 AS a\nFROM alpine:3\nCOPY --from=a /x /x\n"},
	},
	"DF049": {
		bad:  []string{"FROM alpine:3 AS a\nFROM alpine:3 AS A\n"},
		good: []string{"FROM alpine:3 AS a\nFROM alpine:3 AS b\n"},
	},
	"DF050": {
		bad:  []string{body("EXPOSE 80 70000"), body("EXPOSE 8000-99999/tcp")},
		good: []string{body("EXPOSE 80/tcp 443 8000-8080/udp"), body("EXPOSE ${PORT}")},
	},
	"DF051": {
		bad:  []string{body("HEALTHCHECK CMD [\"curl\", \"-f\", \"http://localhost/\"]")},
		good: []string{ok},
	},
	"DF052": {
		bad:  []string{body("RUN useradd -u 123456789 app")},
		good: []string{body("RUN useradd -l -u 123456789 app"), body("RUN useradd -u 1000 app")},
	},
	"DF053": {
		bad:  []string{body(`LABEL com.docker.foo="x"`), body(`LABEL Maintainer="x"`)},
		good: []string{body(`LABEL org.opencontainers.image.source="https://github.com/x/y"`)},
	},
	"DF054": {
		bad:  []string{body("EXPOSE 22"), body("EXPOSE 3389/tcp")},
		good: []string{body("EXPOSE 8022"), "FROM alpine:3 AS ssh\nEXPOSE 22\n" + ok},
	},
	"DF055": {
		bad:  []string{strings.Replace(ok, "HEALTHCHECK CMD [\"true\"]\n", "", 1)},
		good: []string{ok, "FROM scratch\nCOPY app /app\n"},
	},
	"DF056": {
		bad:  []string{body("RUN chmod 777 /data"), body("RUN chmod -R o+w /data"), body("RUN chmod a+rwx /data")},
		good: []string{body("RUN chmod 755 /data"), body("RUN chmod u+x /app")},
	},
	"DF057": {
		bad:  []string{body("RUN wget -q https://x/a -O /a", "RUN curl -fsSo /b https://x/b")},
		good: []string{body("RUN curl -fsSo /b https://x/b")},
	},
	"DF058": {
		bad:  []string{body("COPY id_rsa /root/.ssh/id_rsa"), body("COPY certs/server.key /etc/ssl/"), body("COPY .env /app/")},
		good: []string{body("COPY certs/server.crt /etc/ssl/")},
	},
	"DF059": {
		bad:  []string{body("COPY onlyone"), body("FROBNICATE now")},
		good: []string{ok},
	},
	"DF060": {
		bad:  []string{body("RUN apk add --no-cache curl=8 \\", "", "    jq=1")},
		good: []string{body("RUN apk add --no-cache curl=8 \\", "    jq=1")},
	},
}

func TestEveryRuleHasCases(t *testing.T) {
	for _, r := range dockerfile.Rules() {
		c, ok := cases[r.ID]
		require.True(t, ok, "rule %s has no test cases", r.ID)
		assert.NotEmpty(t, c.good, "rule %s has no Dockerfile that must not fire", r.ID)
		if r.ID != "DF012" {
			assert.NotEmpty(t, c.bad, "rule %s has no Dockerfile that fires it", r.ID)
		}
		assert.NotEmpty(t, r.Rationale)
		assert.NotEmpty(t, r.Fix)
		assert.Contains(t, r.HelpURI, "#"+strings.ToLower(r.ID))
	}
	assert.GreaterOrEqual(t, len(dockerfile.Rules()), 45)
}

func TestRules(t *testing.T) {
	for id, c := range cases {
		for i, src := range c.bad {
			t.Run(id+"/bad", func(t *testing.T) {
				assert.Contains(t, ids(lintText(t, src, c.noIgnore)), id, "case %d:\n%s", i, src)
			})
		}
		for i, src := range c.good {
			t.Run(id+"/good", func(t *testing.T) {
				assert.NotContains(t, ids(lintText(t, src, c.noIgnore)), id, "case %d:\n%s", i, src)
			})
		}
	}
}

func TestOkDockerfileIsClean(t *testing.T) {
	assert.Empty(t, lintText(t, ok, false))
}

func TestFindingsCarryLocations(t *testing.T) {
	src := "FROM alpine:3.20\nRUN apk add \\\n    curl\nUSER root\n"
	fs := lintText(t, src, false)
	var got *report.Finding
	for i := range fs {
		if fs[i].ID == "DF022" {
			got = &fs[i]
		}
	}
	require.NotNil(t, got)
	assert.Equal(t, 2, got.Location.StartLine)
	assert.Equal(t, 3, got.Location.EndLine)
	assert.Equal(t, 1, got.Location.StartColumn)
	assert.Equal(t, len("    curl")+1, got.Location.EndColumn)
	assert.Equal(t, report.KindDockerfile, got.Kind)
	assert.Equal(t, -1, got.Layer)
	require.NotNil(t, got.Rule)
	assert.Equal(t, "DL3018", got.Rule.Hadolint)
}
