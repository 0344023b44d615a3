package dockerfile_test

import (
	"strings"
	"testing"
)

// instructionsCases are the good and bad Dockerfiles of rules_instructions.go.
var instructionsCases = map[string]ruleCase{
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
	"DF059": {
		bad:  []string{body("COPY onlyone"), body("FROBNICATE now")},
		good: []string{ok},
	},
	"DF060": {
		bad:  []string{body("RUN apk add --no-cache curl=8 \\", "", "    jq=1")},
		good: []string{body("RUN apk add --no-cache curl=8 \\", "    jq=1")},
	},
	"DF065": {
		bad:  []string{body("ENV APP_HOME=/app APP_BIN=$APP_HOME/bin")},
		good: []string{body("ENV APP_HOME=/app", "ENV APP_BIN=$APP_HOME/bin"), body("ENV PATH=/app/bin:$PATH")},
	},
	"DF066": {
		bad:  []string{body("WORKDIR /"), body("WORKDIR /usr/bin"), body("WORKDIR /proc/app")},
		good: []string{ok, body("WORKDIR /app"), body("WORKDIR /usr/src/app"), body("WORKDIR /usr/local/app")},
	},
	"DF071": {
		bad:  []string{"FROM alpine:3 AS scratch\nRUN true\n", "FROM alpine:3 AS context\n"},
		good: []string{ok, "FROM alpine:3 AS base\nFROM scratch\nCOPY --from=base /etc/passwd /etc/passwd\n"},
	},
}

func TestInstructionsRules(t *testing.T) { checkCases(t, instructionsCases) }
