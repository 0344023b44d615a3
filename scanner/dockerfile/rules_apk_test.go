package dockerfile_test

import "testing"

// apkCases are the good and bad Dockerfiles of rules_apk.go.
var apkCases = map[string]ruleCase{
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
}

func TestApkRules(t *testing.T) { checkCases(t, apkCases) }
