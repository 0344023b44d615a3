package dockerfile_test

import "testing"

// copyCases are the good and bad Dockerfiles of rules_copy.go.
var copyCases = map[string]ruleCase{
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
	"DF047": {
		bad:  []string{"FROM golang:1.22 AS build\nFROM alpine:3\nCOPY --from=biuld /out /out\n", "FROM alpine:3 AS a\nCOPY --from=b /x /x\nFROM alpine:3 AS b\n"},
		good: []string{"FROM golang:1.22 AS build\nFROM alpine:3\nCOPY --from=build /out /out\n", "FROM alpine:3\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\n", "FROM golang:1.22\nFROM alpine:3\nCOPY --from=0 /out /out\n"},
	},
	"DF048": {
		bad:  []string{"FROM alpine:3 AS a\nCOPY --from=a /x /x\n"},
		good: []string{"FROM alpine:3 AS a\nFROM alpine:3\nCOPY --from=a /x /x\n"},
	},
	"DF062": {
		bad:  []string{body("COPY a.txt b.txt /app")},
		good: []string{body("COPY a.txt b.txt /app/"), body("COPY a.txt /app/a.txt"), body(`COPY ["a.txt", "b.txt", "/app/"]`)},
	},
	"DF063": {
		bad:  []string{body("COPY app.js ./")},
		good: []string{body("WORKDIR /app", "COPY app.js ./"), body("COPY app.js /app/"), "FROM alpine:3 AS base\nWORKDIR /src\nFROM base\nCOPY app.js ./\n", "FROM scratch\nCOPY app /\nCOPY cfg .\n"},
	},
	"DF064": {
		bad:  []string{"FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM alpine:3\nCOPY --from=build / /\n"},
		good: []string{"FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM alpine:3\nCOPY --from=build /out/app /app\n", "FROM tonistiigi/xx AS xx\nFROM golang:1.22 AS build\nCOPY --from=xx / /\nFROM alpine:3\nCOPY --from=build /out/app /app\n"},
	},
}

func TestCopyRules(t *testing.T) { checkCases(t, copyCases) }
