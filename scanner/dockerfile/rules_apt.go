package dockerfile

import (
	"strings"

	"github.com/imagegate/imagegate/report"
)

// aptRules are the rules about apt-get and apt (Debian, Ubuntu).
var aptRules = []Rule{
	{Rule: report.Rule{
		ID: "DF015", Severity: report.Low, Title: "apt-get install without -y", Hadolint: "DL3014",
		Rationale: "Without -y the build stops at the confirmation prompt.",
		Fix:       "Use `apt-get install -y`.",
	}, Check: checkNonInteractive("apt-get", 'y', "--yes", "--assume-yes")},
	{Rule: report.Rule{
		ID: "DF016", Severity: report.Low, Title: "apt-get install without --no-install-recommends", Hadolint: "DL3015",
		Rationale: "Recommended packages add size and vulnerabilities the image does not need.",
		Fix:       "Use `apt-get install -y --no-install-recommends`.",
	}, Check: checkFlag("apt-get", "--no-install-recommends", "recommended packages are installed too")},
	{Rule: report.Rule{
		ID: "DF017", Severity: report.Low, Title: "apt packages not pinned", Hadolint: "DL3008",
		Rationale: "Unpinned packages make builds unreproducible: the next build may install other versions.",
		Fix:       "Pin versions: `apt-get install -y curl=7.88.1-10+deb12u5`.",
	}, Check: checkPinned("apt-get")},
	{Rule: report.Rule{
		ID: "DF018", Severity: report.Low, Title: "apt lists not removed", Hadolint: "DL3009",
		Rationale: "The package lists stay in the layer: megabytes of stale metadata.",
		Fix:       "End the same RUN with `rm -rf /var/lib/apt/lists/*` (or use a cache mount).",
	}, Check: checkAptLists},
	{Rule: report.Rule{
		ID: "DF019", Severity: report.Low, Title: "Upgrade of all packages in the image", Hadolint: "DL3005",
		Rationale: "`apt-get upgrade` makes the image depend on the day of the build; rebuild on a fresher base image instead.",
		Fix:       "Use an up-to-date base image, or pin the packages you need newer.",
	}, Check: checkUpgrade},
	{Rule: report.Rule{
		ID: "DF020", Severity: report.Low, Title: "apt used instead of apt-get", Hadolint: "DL3027",
		Rationale: "apt is meant for people; its interface is not stable for scripts.",
		Fix:       "Use apt-get or apt-cache.",
	}, Check: checkAptNotAptGet},
}

func checkFlag(m, flag, what string) func(*checker) []Hit {
	return func(c *checker) (hits []Hit) {
		c.eachInstall(m, func(in *Instruction, ins install) {
			if !ins.cmd.HasFlag(0, flag) {
				hits = append(hits, hit(in, "%s install without %s: %s", m, flag, what))
			}
		})
		return hits
	}
}

func checkAptLists(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		s := c.script(in)
		has := false
		for _, ins := range c.installsOf(in) {
			if ins.manager == "apt-get" {
				has = true
			}
		}
		if !has || cacheMount(in, "/var/lib/apt") {
			continue
		}
		cleaned := false
		for _, cmd := range s.Commands {
			if cmd.Name == "rm" {
				for _, a := range cmd.Args {
					if strings.HasPrefix(a, "/var/lib/apt/lists") {
						cleaned = true
					}
				}
			}
		}
		if !cleaned {
			hits = append(hits, hit(in, "apt-get install leaves /var/lib/apt/lists in the layer"))
		}
	}
	return hits
}

func checkUpgrade(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if m, cmd := managerOf(cmd); m == "apt-get" {
				if sub, _, _ := subcommand(m, cmd); sub == "upgrade" || sub == "dist-upgrade" || sub == "full-upgrade" {
					hits = append(hits, hit(in, "apt-get %s upgrades every package at build time", sub))
				}
			}
		}
	}
	return hits
}

func checkAptNotAptGet(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "apt" {
				hits = append(hits, hit(in, "apt is used in a script; use apt-get"))
				break
			}
		}
	}
	return hits
}
