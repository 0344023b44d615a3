package dockerfile_test

import "testing"

// secretsCases are the good and bad Dockerfiles of rules_secrets.go.
var secretsCases = map[string]ruleCase{
	"DF009": {
		bad:  []string{body("ENV DB_PASSWORD=hunter2"), body("ENV GITHUB_TOKEN ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), body("ENV CI_VALUE=npm_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8")},
		good: []string{body("ENV DB_PASSWORD_FILE=/run/secrets/db"), body("ENV TOKEN_URL=https://auth.example.com"), body("ENV DB_PASSWORD=${DB_PASSWORD}"), body("ENV NODE_ENV=production")},
	},
	"DF010": {
		bad:  []string{body("ARG NPM_TOKEN"), "ARG API_KEY=abc\nFROM alpine:3.20\n"},
		good: []string{body("ARG VERSION=1.2.3"), body("ARG TOKEN_PATH")},
	},
	"DF058": {
		bad:  []string{body("COPY id_rsa /root/.ssh/id_rsa"), body("COPY certs/server.key /etc/ssl/"), body("COPY .env /app/")},
		good: []string{body("COPY certs/server.crt /etc/ssl/")},
	},
}

func TestSecretsRules(t *testing.T) { checkCases(t, secretsCases) }
