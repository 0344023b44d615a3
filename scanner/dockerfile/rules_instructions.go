package dockerfile

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/imagegate/imagegate/report"
)

// instructionsRules are the rules about the instructions themselves: forms, counts, stages, ports, labels, parse errors.
var instructionsRules = []Rule{
	{Rule: report.Rule{
		ID: "DF041", Severity: report.Low, Title: "Relative WORKDIR", Hadolint: "DL3000",
		Rationale: "A relative WORKDIR depends on the previous one and is easy to get wrong.",
		Fix:       "Use an absolute path.",
	}, Check: checkRelativeWorkdir},
	{Rule: report.Rule{
		ID: "DF042", Severity: report.Low, Title: "CMD or ENTRYPOINT in shell form", Hadolint: "DL3025",
		Rationale: "In shell form the process runs under /bin/sh -c and does not receive signals: the container cannot stop gracefully.",
		Fix:       `Use the JSON form: CMD ["node", "server.js"].`,
	}, Check: checkJSONForm},
	{Rule: report.Rule{
		ID: "DF043", Severity: report.Low, Title: "Several CMD instructions in a stage", Hadolint: "DL4003",
		Rationale: "Only the last CMD takes effect; the others mislead readers.",
		Fix:       "Keep one CMD per stage.",
	}, Check: checkMultiple("cmd")},
	{Rule: report.Rule{
		ID: "DF044", Severity: report.Low, Title: "Several ENTRYPOINT instructions in a stage", Hadolint: "DL4004",
		Rationale: "Only the last ENTRYPOINT takes effect; the others mislead readers.",
		Fix:       "Keep one ENTRYPOINT per stage.",
	}, Check: checkMultiple("entrypoint")},
	{Rule: report.Rule{
		ID: "DF045", Severity: report.Low, Title: "MAINTAINER is deprecated", Hadolint: "DL4000",
		Rationale: "MAINTAINER is deprecated since Docker 1.13.",
		Fix:       `Use LABEL org.opencontainers.image.authors="..." instead.`,
	}, Check: checkMaintainer},
	{Rule: report.Rule{
		ID: "DF049", Severity: report.Medium, Title: "Duplicate stage name", Hadolint: "DL3024",
		Rationale: "Two stages with the same name make COPY --from and --target ambiguous.",
		Fix:       "Give every stage a unique name.",
	}, Check: checkDuplicateStages},
	{Rule: report.Rule{
		ID: "DF050", Severity: report.Medium, Title: "EXPOSE port out of range", Hadolint: "DL3011",
		Rationale: "Ports are 0-65535.",
		Fix:       "Fix the port number.",
	}, Check: checkExposeRange},
	{Rule: report.Rule{
		ID: "DF051", Severity: report.Low, Title: "Several HEALTHCHECK instructions", Hadolint: "DL3012",
		Rationale: "Only the last HEALTHCHECK takes effect.",
		Fix:       "Keep one HEALTHCHECK.",
	}, Check: checkMultiple("healthcheck")},
	{Rule: report.Rule{
		ID: "DF053", Severity: report.Low, Title: "Invalid label key", Hadolint: "DL3048",
		Rationale: "Label keys should be lower-case reverse-DNS names; the com.docker.*, io.docker.* and org.dockerproject.* namespaces are reserved.",
		Fix:       "Use keys such as org.opencontainers.image.source.",
	}, Check: checkLabelKeys},
	{Rule: report.Rule{
		ID: "DF054", Severity: report.Medium, Title: "Sensitive port exposed", Dockle: "DKL-DI-0006",
		Rationale: "SSH (22), Telnet (23) and RDP (3389) in a container mean remote shells and credentials inside the image.",
		Fix:       "Do not run remote shells in containers; use `docker exec` or `kubectl exec`.",
	}, Check: checkSensitivePorts},
	{Rule: report.Rule{
		ID: "DF055", Severity: report.Low, Title: "No HEALTHCHECK in the final stage", Dockle: "CIS-DI-0006",
		Rationale: "Without a health check the runtime cannot tell a hung service from a working one.",
		Fix:       "Add a HEALTHCHECK, or rely on your orchestrator's probes and ignore this rule.",
	}, Check: checkNoHealthcheck},
	{Rule: report.Rule{
		ID: "DF059", Severity: report.High, Title: "Invalid instruction",
		Rationale: "BuildKit rejects this instruction: the build will fail here.",
		Fix:       "Fix the instruction as the message says.",
	}, Check: checkInvalid},
	{Rule: report.Rule{
		ID: "DF060", Severity: report.Low, Title: "Dockerfile parser warning",
		Rationale: "BuildKit warns about this line (an empty continuation line, say); a future version may reject it.",
		Fix:       "Fix the line as the message says.",
	}, Check: checkParserWarnings},
	{Rule: report.Rule{
		ID: "DF065", Severity: report.Low, Title: "ENV uses a variable it defines itself", Hadolint: "DL3044",
		Rationale: "Within one ENV instruction the earlier assignments are not visible yet: `ENV A=1 B=$A` sets B to the value A had before, usually empty.",
		Fix:       "Split it: `ENV A=1` then `ENV B=$A`.",
	}, Check: checkEnvSelfReference},
	{Rule: report.Rule{
		ID: "DF066", Severity: report.Medium, Title: "WORKDIR on a system folder",
		Rationale: "A working folder under /proc, /sys or /dev is the kernel's, and one at / or under /boot, /etc, /usr, /bin or /sbin mixes the application with the system's files (Trivy DS-0030).",
		Fix:       "Give the application a folder of its own: `WORKDIR /app`.",
	}, Check: checkSystemWorkdir},
	{Rule: report.Rule{
		ID: "DF071", Severity: report.Low, Title: "Stage named with a reserved word", Hadolint: "DL3063",
		Rationale: "`scratch` and `context` mean the empty image and the build context to BuildKit: a stage of that name is ambiguous in COPY --from and FROM, and a later reader takes it for the built-in.",
		Fix:       "Rename the stage: `FROM alpine:3.20 AS base`.",
	}, Check: checkReservedStageName},
}

var windowsPath = regexp.MustCompile(`^[A-Za-z]:[\\/]`)

func checkRelativeWorkdir(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "workdir" || len(in.Args) == 0 {
			continue
		}
		w := strings.Trim(in.Args[0], `"'`)
		if !strings.HasPrefix(w, "/") && !strings.HasPrefix(w, "$") && !windowsPath.MatchString(w) {
			hits = append(hits, hit(in, "WORKDIR %s is relative", w))
		}
	}
	return hits
}

func checkJSONForm(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if (in.Cmd == "cmd" || in.Cmd == "entrypoint") && !in.JSON && len(in.Args) > 0 {
			hits = append(hits, hit(in, "%s in shell form: the process will not receive SIGTERM", strings.ToUpper(in.Cmd)))
		}
	}
	return hits
}

func checkMultiple(cmd string) func(*checker) []Hit {
	return func(c *checker) (hits []Hit) {
		for _, s := range c.d.Stages {
			var first *Instruction
			for _, in := range s.Instructions {
				if in.Cmd != cmd {
					continue
				}
				if first == nil {
					first = in
					continue
				}
				hits = append(hits, hit(in, "%s again (first on line %d): only the last one takes effect", strings.ToUpper(cmd), first.StartLine))
			}
		}
		return hits
	}
}

func checkMaintainer(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd == "maintainer" {
			hits = append(hits, hit(in, "MAINTAINER %s", strings.Join(in.Args, " ")))
		}
	}
	return hits
}

// copyFrom returns the --from of a COPY, if any.
func copyFrom(in *Instruction) (string, bool) {
	if in.Cmd != "copy" {
		return "", false
	}
	return in.Flag("from")
}

func checkDuplicateStages(c *checker) (hits []Hit) {
	seen := map[string]*Stage{}
	for _, s := range c.d.Stages {
		if s.Name == "" {
			continue
		}
		if first, ok := seen[s.Name]; ok {
			hits = append(hits, hit(s.From, "stage name %q is already used on line %d", s.Name, first.From.StartLine))
			continue
		}
		seen[s.Name] = s
	}
	return hits
}

// ports parses EXPOSE arguments: 80, 80/tcp, 8000-8010/udp.
func ports(in *Instruction) (nums []int, bad []string) {
	for _, a := range in.Args {
		if strings.Contains(a, "$") {
			continue
		}
		p, _, _ := strings.Cut(a, "/")
		for _, part := range strings.Split(p, "-") {
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n > 65535 {
				bad = append(bad, a)
				break
			}
			nums = append(nums, n)
		}
	}
	return nums, bad
}

func checkExposeRange(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "expose" {
			continue
		}
		if _, bad := ports(in); len(bad) > 0 {
			hits = append(hits, hit(in, "EXPOSE %s: not a port in 0-65535", strings.Join(bad, " ")))
		}
	}
	return hits
}

func checkSensitivePorts(c *checker) (hits []Hit) {
	names := map[int]string{22: "SSH", 23: "Telnet", 3389: "RDP"}
	for _, in := range c.d.Final().Instructions {
		if in.Cmd != "expose" {
			continue
		}
		nums, _ := ports(in)
		for _, n := range nums {
			if name, ok := names[n]; ok {
				hits = append(hits, hit(in, "EXPOSE %d (%s)", n, name))
			}
		}
	}
	return hits
}

func checkNoHealthcheck(c *checker) (hits []Hit) {
	final := c.d.Final()
	if rootBase(c.d, final) == "scratch" {
		return // nothing in the image could run a check
	}
	for _, in := range final.Instructions {
		if in.Cmd == "healthcheck" {
			return
		}
	}
	hits = append(hits, hit(final.From, "the final stage (FROM %s) has no HEALTHCHECK", final.BaseRaw))
	return hits
}

var labelKey = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

func checkLabelKeys(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "label" {
			continue
		}
		for _, kv := range keyValues(in) {
			k := strings.Trim(kv[0], `"'`)
			switch {
			case strings.HasPrefix(k, "com.docker.") || strings.HasPrefix(k, "io.docker.") || strings.HasPrefix(k, "org.dockerproject."):
				hits = append(hits, hit(in, "label %q uses a reserved namespace", k))
			case !labelKey.MatchString(k) || strings.Contains(k, "..") || strings.Contains(k, "--"):
				hits = append(hits, hit(in, "label key %q is not a lower-case dotted name", k))
			}
		}
	}
	return hits
}

func checkInvalid(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.ParseError != nil {
			hits = append(hits, hit(in, "%s", strings.Join(strings.Fields(in.ParseError.Error()), " ")))
		}
	}
	return hits
}

func checkParserWarnings(c *checker) (hits []Hit) {
	for _, w := range c.d.Warnings {
		if w.Location == nil {
			continue
		}
		line := w.Location.Start.Line
		for _, in := range c.d.Instructions {
			if line >= in.StartLine && line <= in.EndLine+1 {
				hits = append(hits, hit(in, "%s", w.Short))
				break
			}
		}
	}
	return hits
}

func checkEnvSelfReference(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "env" {
			continue
		}
		defined := map[string]bool{}
		for _, kv := range keyValues(in) {
			for name := range defined {
				if strings.Contains(kv[1], "$"+name) || strings.Contains(kv[1], "${"+name) {
					hits = append(hits, hit(in, "ENV %s uses $%s, which this ENV defines: it sees the earlier value", kv[0], name))
				}
			}
			defined[kv[0]] = true
		}
	}
	return hits
}

var systemDirs = []string{"/proc", "/sys", "/dev", "/boot", "/etc", "/usr", "/bin", "/sbin", "/lib"}

func checkSystemWorkdir(c *checker) (hits []Hit) {
	for _, in := range c.d.Instructions {
		if in.Cmd != "workdir" || len(in.Args) == 0 {
			continue
		}
		w := path.Clean(strings.Trim(in.Args[0], `"'`))
		if w == "/" {
			hits = append(hits, hit(in, "WORKDIR / is the root of the filesystem"))
			continue
		}
		for _, d := range systemDirs {
			if w == d || strings.HasPrefix(w, d+"/") && !strings.HasPrefix(w, "/usr/src/") && !strings.HasPrefix(w, "/usr/local/") && !strings.HasPrefix(w, "/usr/share/") {
				hits = append(hits, hit(in, "WORKDIR %s is a system folder", w))
				break
			}
		}
	}
	return hits
}

func checkReservedStageName(c *checker) (hits []Hit) {
	for _, s := range c.d.Stages {
		if n := strings.ToLower(s.Name); n == "scratch" || n == "context" {
			hits = append(hits, hit(s.From, "stage named %s, a word BuildKit reserves", s.Name))
		}
	}
	return hits
}
