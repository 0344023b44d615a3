package dockerfile

import (
	"strings"

	"github.com/imagegate/imagegate/report"
)

// contextRules are the rules about the build context and its .dockerignore.
var contextRules = []Rule{
	{Rule: report.Rule{
		ID: "DF011", Severity: report.Medium, Title: "Broad COPY without a .dockerignore",
		Rationale: "`COPY . .` sends the whole build context into the image: .git history, .env files, keys and credentials included.",
		Fix:       "Add a .dockerignore that excludes at least .git, .env, *.pem, *.key, id_rsa, .npmrc and .aws, or copy only what the image needs.",
	}, Check: checkBroadCopyNoIgnore},
	{Rule: report.Rule{
		ID: "DF012", Severity: report.High, Title: ".dockerignore lets sensitive files into the image",
		Rationale: "A broad COPY copies whatever the .dockerignore does not exclude; keys and credentials then ship in a layer.",
		Fix:       "Add the listed patterns to .dockerignore.",
	}, Check: checkIgnoreLeaks},
}

// broadCopies returns COPY/ADD instructions that copy the whole context (., ./, *).
func (c *checker) broadCopies() []*Instruction {
	var out []*Instruction
	for _, in := range c.d.Instructions {
		if in.Cmd != "copy" && in.Cmd != "add" {
			continue
		}
		if _, ok := in.Flag("from"); ok {
			continue
		}
		for _, src := range sources(in) {
			if src == "." || src == "./" || src == "*" || src == "./*" {
				out = append(out, in)
				break
			}
		}
	}
	return out
}

func checkBroadCopyNoIgnore(c *checker) (hits []Hit) {
	if c.ctx.ignoreFile != "" {
		return
	}
	for _, in := range c.broadCopies() {
		hits = append(hits, hit(in, "%s copies the whole build context and there is no .dockerignore", strings.ToUpper(in.Cmd)))
	}
	return hits
}

func checkIgnoreLeaks(c *checker) (hits []Hit) {
	copies := c.broadCopies()
	if len(copies) == 0 {
		return
	}
	if c.ctx.given {
		if len(c.ctx.sensitive) > 0 {
			hits = append(hits, hit(copies[0], "the build context holds %s, which .dockerignore does not exclude", strings.Join(limit(c.ctx.sensitive, 8), ", ")))
		}
		return
	}
	if c.ctx.ignoreFile == "" {
		return // DF011 says it
	}
	if leaks := c.ctx.leaks(); len(leaks) > 0 {
		hits = append(hits, hit(copies[0], ".dockerignore does not exclude %s", strings.Join(leaks, ", ")))
	}
	return hits
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], "...")
}
