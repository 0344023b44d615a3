package dockerfile

import (
	"regexp"
	"strings"

	"github.com/imagegate/imagegate/report"
)

// runRules are the rules about RUN scripts: what their shell commands do.
var runRules = []Rule{
	{Rule: report.Rule{
		ID: "DF013", Severity: report.Low, Title: "Build tools in the final stage",
		Rationale: "Compilers and build tools in the runtime image add attack surface and vulnerabilities for nothing at run time.",
		Fix:       "Build in an earlier stage and COPY --from it only the artifacts into a slim final stage.",
	}, Check: checkBuildTools},
	{Rule: report.Rule{
		ID: "DF014", Severity: report.High, Title: "Remote script piped into a shell",
		Rationale: "`curl ... | sh` runs whatever the server sends at build time, unverified.",
		Fix:       "Download the script, verify its checksum or signature, then run it.",
	}, Check: checkCurlPipeShell},
	{Rule: report.Rule{
		ID: "DF039", Severity: report.Medium, Title: "sudo in a RUN", Hadolint: "DL3004",
		Rationale: "sudo has unpredictable TTY and signal behaviour in containers, and its presence in the image is an escalation path.",
		Fix:       "RUN steps already run as the current USER; switch USER around the steps that need root instead.",
	}, Check: checkSudo},
	{Rule: report.Rule{
		ID: "DF040", Severity: report.Low, Title: "cd used to change folders", Hadolint: "DL3003",
		Rationale: "A cd lasts for one RUN only; WORKDIR is clearer and lasts.",
		Fix:       "Use WORKDIR.",
	}, Check: checkCd},
	{Rule: report.Rule{
		ID: "DF046", Severity: report.Low, Title: "Pipe without pipefail", Hadolint: "DL4006",
		Rationale: "Without pipefail a pipeline's status is its last command's: `curl ... | tar x` succeeds even when the download failed.",
		Fix:       `Start the RUN with set -o pipefail, or set SHELL ["/bin/bash", "-o", "pipefail", "-c"].`,
	}, Check: checkPipefail},
	{Rule: report.Rule{
		ID: "DF056", Severity: report.Medium, Title: "World-writable permissions set",
		Rationale: "chmod 777 (or o+w) lets any process in the container change those files.",
		Fix:       "Grant the least access: chown to the service user and use 755/644.",
	}, Check: checkChmod777},
	{Rule: report.Rule{
		ID: "DF057", Severity: report.Low, Title: "Both wget and curl used", Hadolint: "DL4001",
		Rationale: "Two download tools where one would do add size and attack surface.",
		Fix:       "Use one of them.",
	}, Check: checkWgetAndCurl},
}

func checkBuildTools(c *checker) (hits []Hit) {
	final := c.d.Final()
	for _, in := range c.runs(final) {
		var tools []string
		for _, ins := range c.installsOf(in) {
			for _, p := range ins.packages {
				if buildTools[packageName(p)] {
					tools = append(tools, packageName(p))
				}
			}
		}
		if len(tools) > 0 {
			hits = append(hits, hit(in, "the final stage installs build tools: %s", strings.Join(tools, ", ")))
		}
	}
	return hits
}

func checkCurlPipeShell(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, p := range c.script(in).Pipelines {
			fetch := ""
			for _, cmd := range p {
				if cmd.Name == "curl" || cmd.Name == "wget" {
					fetch = cmd.Name
				} else if fetch != "" && scriptRunners[cmd.Name] {
					hits = append(hits, hit(in, "%s output is piped into %s", fetch, cmd.Name))
					break
				}
			}
		}
	}
	return hits
}

func checkSudo(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Sudo || cmd.Name == "sudo" {
				hits = append(hits, hit(in, "sudo %s", cmd.Name))
				break
			}
		}
	}
	return hits
}

func checkCd(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "cd" {
				hits = append(hits, hit(in, "cd %s: use WORKDIR", strings.Join(cmd.Args, " ")))
				break
			}
		}
	}
	return hits
}

func checkPipefail(c *checker) (hits []Hit) {
	for _, s := range c.d.Stages {
		pipefail := false
		for _, in := range s.Instructions {
			if in.Cmd == "shell" {
				pipefail = strings.Contains(strings.Join(in.Args, " "), "pipefail")
				if len(in.Args) > 0 && strings.Contains(strings.ToLower(in.Args[0]), "pwsh") || strings.Contains(strings.ToLower(strings.Join(in.Args, " ")), "powershell") {
					pipefail = true // PowerShell pipelines fail on errors
				}
			}
			if in.Cmd != "run" || in.JSON || pipefail {
				continue
			}
			sc := c.script(in)
			if len(sc.Pipelines) > 0 && !sc.Pipefail {
				hits = append(hits, hit(in, "a pipeline's failure is hidden: set -o pipefail"))
			}
		}
	}
	return hits
}

func checkWgetAndCurl(c *checker) (hits []Hit) {
	var wget, curl *Instruction
	for _, in := range c.runs() {
		s := c.script(in)
		if s.Has("wget") && wget == nil {
			wget = in
		}
		if s.Has("curl") && curl == nil {
			curl = in
		}
	}
	if wget != nil && curl != nil {
		later := wget
		if curl.StartLine > wget.StartLine {
			later = curl
		}
		hits = append(hits, hit(later, "both wget (line %d) and curl (line %d) are used", wget.StartLine, curl.StartLine))
	}
	return hits
}

func checkChmod777(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name != "chmod" {
				continue
			}
			for _, a := range cmd.Args {
				if strings.HasPrefix(a, "-") {
					continue
				}
				if chmodWorld.MatchString(a) && (strings.ContainsAny(a, "0123456789") || strings.ContainsAny(strings.Split(a, "+")[0], "oa") || strings.HasPrefix(a, "+")) {
					hits = append(hits, hit(in, "chmod %s makes files world-writable", a))
				}
				break
			}
		}
	}
	return hits
}

var scriptRunners = map[string]bool{"sh": true, "bash": true, "zsh": true, "ash": true, "dash": true, "ksh": true, "python": true, "python3": true, "perl": true, "ruby": true, "node": true}

var chmodWorld = regexp.MustCompile(`^(0?[0-7]?[0-7][0-7][2367]|[ugoa]*[+=][rwxXst]*w[rwxXst]*|o\+\w*w\w*)$`)
