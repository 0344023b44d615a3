package dockerfile_test

import "testing"

// langCases are the good and bad Dockerfiles of rules_lang.go.
var langCases = map[string]ruleCase{
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
	"DF070": {
		bad:  []string{body("RUN yarn install --frozen-lockfile"), body("RUN yarn")},
		good: []string{body("RUN yarn install --frozen-lockfile && yarn cache clean"), body("RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile")},
	},
}

func TestLangRules(t *testing.T) { checkCases(t, langCases) }
