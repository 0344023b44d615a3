package dockerfile_test

import "testing"

// runCases are the good and bad Dockerfiles of rules_run.go.
var runCases = map[string]ruleCase{
	"DF013": {
		bad:  []string{body("RUN apk add --no-cache gcc=13.2.1_git20240309-r0 make=4.4.1-r2")},
		good: []string{"FROM golang:1.22 AS build\nRUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 && rm -rf /var/lib/apt/lists/*\n" + ok, body("RUN apk add --no-cache curl=8.9.1-r1")},
	},
	"DF014": {
		bad:  []string{body("RUN set -o pipefail && curl -fsSL https://get.example.com | sh"), body("RUN set -o pipefail && wget -qO- https://x.example.com/i.sh | bash -s -- --yes")},
		good: []string{body("RUN curl -fsSLo /tmp/i.sh https://get.example.com && sha256sum -c i.sha256 && sh /tmp/i.sh"), body("RUN set -o pipefail && curl -fsSL https://x.example.com/a.tgz | tar -xz")},
	},
	"DF039": {
		bad:  []string{body("RUN sudo chown app /data")},
		good: []string{body("RUN chown app /data")},
	},
	"DF040": {
		bad:  []string{body("RUN cd /app && make")},
		good: []string{body("WORKDIR /app", "RUN make")},
	},
	"DF046": {
		bad:  []string{body("RUN wget -qO- https://example.com/a.tgz | tar -xz")},
		good: []string{body("RUN set -o pipefail && wget -qO- https://example.com/a.tgz | tar -xz"), body(`SHELL ["/bin/bash", "-o", "pipefail", "-c"]`, "RUN wget -qO- https://example.com/a.tgz | tar -xz"), body("RUN set -euo pipefail; curl -s x | tar -x")},
	},
	"DF056": {
		bad:  []string{body("RUN chmod 777 /data"), body("RUN chmod -R o+w /data"), body("RUN chmod a+rwx /data")},
		good: []string{body("RUN chmod 755 /data"), body("RUN chmod u+x /app")},
	},
	"DF057": {
		bad:  []string{body("RUN wget -q https://x/a -O /a", "RUN curl -fsSo /b https://x/b")},
		good: []string{body("RUN curl -fsSo /b https://x/b")},
	},
	"DF067": {
		bad:  []string{body("RUN apt-get update", "RUN apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*"), body("RUN apk update")},
		good: []string{body("RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*"), body("RUN apk update && apk upgrade --no-cache")},
	},
	"DF068": {
		bad:  []string{body("RUN ln -sf /bin/bash /bin/sh")},
		good: []string{body(`SHELL ["/bin/bash", "-o", "pipefail", "-c"]`), body("RUN ln -sf /usr/bin/python3 /usr/bin/python")},
	},
	"DF069": {
		bad:  []string{body("RUN service nginx start"), body("RUN ps aux")},
		good: []string{ok, body("RUN echo ps")},
	},
}

func TestRunRules(t *testing.T) { checkCases(t, runCases) }
