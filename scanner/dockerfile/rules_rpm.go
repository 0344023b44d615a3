package dockerfile

import (
	"slices"
	"strings"

	"github.com/imagegate/imagegate/report"
)

// rpmRules are the rules about yum, dnf and zypper.
var rpmRules = []Rule{
	{Rule: report.Rule{
		ID: "DF024", Severity: report.Low, Title: "yum install without -y", Hadolint: "DL3030",
		Rationale: "Without -y the build stops at the confirmation prompt.",
		Fix:       "Use `yum install -y`.",
	}, Check: checkNonInteractive("yum", 'y', "--assumeyes")},
	{Rule: report.Rule{
		ID: "DF025", Severity: report.Low, Title: "yum packages not pinned", Hadolint: "DL3033",
		Rationale: "Unpinned packages make builds unreproducible.",
		Fix:       "Pin versions: `yum install -y httpd-2.4.57`.",
	}, Check: checkPinned("yum")},
	{Rule: report.Rule{
		ID: "DF026", Severity: report.Low, Title: "yum cache not cleaned", Hadolint: "DL3032",
		Rationale: "The yum cache stays in the layer.",
		Fix:       "End the same RUN with `yum clean all`.",
	}, Check: checkClean("yum", "clean")},
	{Rule: report.Rule{
		ID: "DF027", Severity: report.Low, Title: "dnf install without -y", Hadolint: "DL3038",
		Rationale: "Without -y the build stops at the confirmation prompt.",
		Fix:       "Use `dnf install -y`.",
	}, Check: checkNonInteractive("dnf", 'y', "--assumeyes")},
	{Rule: report.Rule{
		ID: "DF028", Severity: report.Low, Title: "dnf packages not pinned", Hadolint: "DL3041",
		Rationale: "Unpinned packages make builds unreproducible.",
		Fix:       "Pin versions: `dnf install -y httpd-2.4.57`.",
	}, Check: checkPinned("dnf")},
	{Rule: report.Rule{
		ID: "DF029", Severity: report.Low, Title: "dnf cache not cleaned", Hadolint: "DL3040",
		Rationale: "The dnf cache stays in the layer.",
		Fix:       "End the same RUN with `dnf clean all`.",
	}, Check: checkClean("dnf", "clean")},
	{Rule: report.Rule{
		ID: "DF030", Severity: report.Low, Title: "zypper install without -n", Hadolint: "DL3034",
		Rationale: "Without --non-interactive the build stops at a prompt.",
		Fix:       "Use `zypper --non-interactive install` (or `-n`, or `install -y`).",
	}, Check: checkZypperNonInteractive},
	{Rule: report.Rule{
		ID: "DF031", Severity: report.Low, Title: "zypper packages not pinned", Hadolint: "DL3037",
		Rationale: "Unpinned packages make builds unreproducible.",
		Fix:       "Pin versions: `zypper install -y curl=8.0.1`.",
	}, Check: checkPinned("zypper")},
	{Rule: report.Rule{
		ID: "DF032", Severity: report.Low, Title: "zypper cache not cleaned", Hadolint: "DL3036",
		Rationale: "The zypper cache stays in the layer.",
		Fix:       "End the same RUN with `zypper clean`.",
	}, Check: checkClean("zypper", "clean", "cc")},
	{Rule: report.Rule{
		ID: "DF033", Severity: report.Low, Title: "zypper dist-upgrade in the image", Hadolint: "DL3035",
		Rationale: "Upgrading the distribution makes the image depend on the day of the build.",
		Fix:       "Use an up-to-date base image.",
	}, Check: checkZypperDup},
}

func checkClean(m string, subs ...string) func(*checker) []Hit {
	return func(c *checker) (hits []Hit) {
		for _, in := range c.runs() {
			s := c.script(in)
			has, cleaned := false, false
			for _, cmd := range s.Commands {
				mm, cmd := managerOf(cmd)
				if mm != m {
					continue
				}
				sub, _, _ := subcommand(m, cmd)
				if slices.Contains(installSubcommands[m], sub) {
					has = true
				}
				if slices.Contains(subs, sub) {
					cleaned = true
				}
			}
			for _, cmd := range s.Commands {
				if cmd.Name == "rm" && strings.Contains(strings.Join(cmd.Args, " "), "/var/cache/"+m) {
					cleaned = true
				}
			}
			if has && !cleaned && !cacheMount(in, "/var/cache/"+m) {
				hits = append(hits, hit(in, "%s install without %s %s leaves its cache in the layer", m, m, subs[0]))
			}
		}
		return hits
	}
}

func checkZypperNonInteractive(c *checker) (hits []Hit) {
	c.eachInstall("zypper", func(in *Instruction, ins install) {
		if !ins.cmd.HasFlag('n', "--non-interactive") && !ins.cmd.HasFlag('y', "--no-confirm") {
			hits = append(hits, hit(in, "zypper install without --non-interactive waits for confirmation"))
		}
	})
	return hits
}

func checkZypperDup(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "zypper" {
				if sub, _, _ := subcommand("zypper", cmd); sub == "dist-upgrade" || sub == "dup" {
					hits = append(hits, hit(in, "zypper %s upgrades the distribution at build time", sub))
				}
			}
		}
	}
	return hits
}
