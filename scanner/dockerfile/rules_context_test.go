package dockerfile_test

import "testing"

// contextCases are the good and bad Dockerfiles of rules_context.go.
var contextCases = map[string]ruleCase{
	"DF011": {
		bad:      []string{body("COPY . /app"), body("ADD ./ /app")},
		good:     []string{body("COPY src/ /app/src/"), body("COPY --from=build . /app")},
		noIgnore: true,
	},
	"DF012": {
		bad:  []string{}, // needs a .dockerignore that lets files in: TestDockerignore
		good: []string{body("COPY . /app")},
	},
}

func TestContextRules(t *testing.T) { checkCases(t, contextCases) }
