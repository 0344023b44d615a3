package dockerfile

import (
	"github.com/imagegate/imagegate/report"
)

// langRules are the rules about language package managers: pip, npm, gem, go install.
var langRules = []Rule{
	{Rule: report.Rule{
		ID: "DF034", Severity: report.Low, Title: "pip packages not pinned", Hadolint: "DL3013",
		Rationale: "Unpinned packages make builds unreproducible and can pull a compromised new release.",
		Fix:       "Pin versions (`pip install flask==3.0.3`) or install from a lock or requirements file.",
	}, Check: checkPinned("pip")},
	{Rule: report.Rule{
		ID: "DF035", Severity: report.Low, Title: "pip install without --no-cache-dir", Hadolint: "DL3042",
		Rationale: "pip's download cache stays in the layer.",
		Fix:       "Use `pip install --no-cache-dir` (or set PIP_NO_CACHE_DIR=1).",
	}, Check: checkPipCache},
	{Rule: report.Rule{
		ID: "DF036", Severity: report.Low, Title: "npm packages not pinned", Hadolint: "DL3016",
		Rationale: "Unpinned packages make builds unreproducible and can pull a compromised new release.",
		Fix:       "Pin versions (`npm install express@4.21.1`), or use `npm ci` with a lock file.",
	}, Check: checkPinned("npm")},
	{Rule: report.Rule{
		ID: "DF037", Severity: report.Low, Title: "gem packages not pinned", Hadolint: "DL3028",
		Rationale: "Unpinned packages make builds unreproducible.",
		Fix:       "Pin versions: `gem install bundler:2.5.22` or `-v`.",
	}, Check: checkPinned("gem")},
	{Rule: report.Rule{
		ID: "DF038", Severity: report.Low, Title: "go install without a version", Hadolint: "DL3062",
		Rationale: "`go install pkg` or `@latest` builds whatever is newest on the day.",
		Fix:       "Name a version: `go install golang.org/x/tools/gopls@v0.16.2`.",
	}, Check: checkPinned("go")},
	{Rule: report.Rule{
		ID: "DF070", Severity: report.Low, Title: "yarn install without yarn cache clean", Hadolint: "DL3060",
		Rationale: "Yarn's cache stays in the layer: size, and package tarballs nobody needs at run time.",
		Fix:       "Clean in the same RUN: `RUN yarn install --frozen-lockfile && yarn cache clean`, or mount a cache.",
	}, Check: checkYarnCache},
}

func checkPipCache(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd == "env" {
			for _, kv := range keyValues(in) {
				if kv[0] == "PIP_NO_CACHE_DIR" {
					return
				}
			}
		}
	}
	c.eachInstall("pip", func(in *Instruction, ins install) {
		if !ins.cmd.HasFlag(0, "--no-cache-dir") && !cacheMount(in, "/root/.cache") {
			hits = append(hits, hit(in, "pip install without --no-cache-dir leaves its cache in the layer"))
		}
	})
	return hits
}

func checkYarnCache(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		install, clean := false, false
		for _, cmd := range c.script(in).Commands {
			if cmd.Name != "yarn" {
				continue
			}
			sub, rest := cmd.Subcommand()
			switch {
			case sub == "" || sub == "install" || sub == "add":
				install = true
			case sub == "cache" && len(rest) > 0 && rest[0] == "clean":
				clean = true
			}
		}
		if install && !clean && !cacheMount(in, "yarn") {
			hits = append(hits, hit(in, "yarn install leaves its cache in the layer"))
		}
	}
	return hits
}
