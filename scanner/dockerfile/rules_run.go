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
	{Rule: report.Rule{
		ID: "DF067", Severity: report.Low, Title: "Package index updated in a RUN of its own",
		Rationale: "A RUN that only runs `apt-get update` (or `apk update`) is cached as its own layer: a later RUN that installs reuses the stale index from the cache and installs old packages, or fails (Docker's best practices; Trivy DS-0017).",
		Fix:       "Update and install in the same RUN: `RUN apt-get update && apt-get install -y --no-install-recommends curl`.",
	}, Check: checkUpdateAlone},
	{Rule: report.Rule{
		ID: "DF068", Severity: report.Low, Title: "/bin/sh replaced instead of using SHELL", Hadolint: "DL4005",
		Rationale: "Linking another shell over /bin/sh changes every script in the image, the package manager's too; SHELL changes only the RUN instructions that follow.",
		Fix:       `Use SHELL ["/bin/bash", "-o", "pipefail", "-c"].`,
	}, Check: checkShellLink},
	{Rule: report.Rule{
		ID: "DF069", Severity: report.Low, Title: "Command that has no use in a container build", Hadolint: "DL3001",
		Rationale: "ssh, vim, shutdown, service, ps, free, top, kill, mount and ifconfig in a RUN do nothing useful at build time, and installing such tools adds attack surface to the image.",
		Fix:       "Remove the command; debug with `docker exec` or an ephemeral debug container instead.",
	}, Check: checkPointlessCommands},
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

// updateOnly are the manager commands that refresh the package index.
var updateOnly = map[string]string{"apt-get": "update", "apk": "update"}

func checkUpdateAlone(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		updated := ""
		for _, cmd := range c.script(in).Commands {
			if m, cmd := managerOf(cmd); updateOnly[m] != "" {
				if sub, _, _ := subcommand(m, cmd); sub == updateOnly[m] {
					updated = m
				}
			}
		}
		if updated == "" {
			continue
		}
		uses := false // an install or an upgrade in the same RUN reads the fresh index
		for _, ins := range c.installsOf(in) {
			uses = uses || ins.manager == updated
		}
		for _, cmd := range c.script(in).Commands {
			if m, cmd := managerOf(cmd); m == updated {
				if sub, _, _ := subcommand(m, cmd); sub == "upgrade" || sub == "dist-upgrade" || sub == "full-upgrade" {
					uses = true
				}
			}
		}
		if !uses {
			hits = append(hits, hit(in, "%s %s without an install in the same RUN: the cached index goes stale", updated, updateOnly[updated]))
		}
	}
	return hits
}

func checkShellLink(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "ln" && len(cmd.Args) > 0 && (cmd.Args[len(cmd.Args)-1] == "/bin/sh" || cmd.Args[len(cmd.Args)-1] == "/usr/bin/sh") {
				hits = append(hits, hit(in, "ln over %s: use SHELL", cmd.Args[len(cmd.Args)-1]))
				break
			}
		}
	}
	return hits
}

var pointless = map[string]bool{"ssh": true, "vim": true, "shutdown": true, "service": true, "ps": true, "free": true, "top": true, "kill": true, "mount": true, "ifconfig": true}

func checkPointlessCommands(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if pointless[cmd.Name] {
				hits = append(hits, hit(in, "RUN %s has no use at build time", cmd.Name))
				break
			}
		}
	}
	return hits
}
