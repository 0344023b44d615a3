package dockerfile_test

import "testing"

// aptCases are the good and bad Dockerfiles of rules_apt.go.
var aptCases = map[string]ruleCase{
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
}

func TestAptRules(t *testing.T) { checkCases(t, aptCases) }
