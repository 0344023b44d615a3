package dockerfile

import (
	"strings"

	"github.com/imagegate/imagegate/report"
)

// apkRules are the rules about apk (Alpine).
var apkRules = []Rule{
	{Rule: report.Rule{
		ID: "DF021", Severity: report.Low, Title: "apk add without --no-cache", Hadolint: "DL3019",
		Rationale: "The apk index stays in the layer.",
		Fix:       "Use `apk add --no-cache`.",
	}, Check: checkApkCache},
	{Rule: report.Rule{
		ID: "DF022", Severity: report.Low, Title: "apk packages not pinned", Hadolint: "DL3018",
		Rationale: "Unpinned packages make builds unreproducible.",
		Fix:       "Pin versions: `apk add --no-cache curl=8.9.1-r1`.",
	}, Check: checkPinned("apk")},
	{Rule: report.Rule{
		ID: "DF023", Severity: report.Low, Title: "apk upgrade in the image", Hadolint: "DL3017",
		Rationale: "Upgrading all packages makes the image depend on the day of the build.",
		Fix:       "Use an up-to-date base image, or pin the packages you need newer.",
	}, Check: checkApkUpgrade},
}

func checkApkCache(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		s := c.script(in)
		for _, ins := range c.installsOf(in) {
			if ins.manager != "apk" || ins.cmd.HasFlag(0, "--no-cache") || cacheMount(in, "/var/cache/apk") {
				continue
			}
			cleaned := false
			for _, cmd := range s.Commands {
				if cmd.Name == "rm" && strings.Contains(strings.Join(cmd.Args, " "), "/var/cache/apk") {
					cleaned = true
				}
			}
			if !cleaned {
				hits = append(hits, hit(in, "apk add without --no-cache leaves the package index in the layer"))
			}
		}
	}
	return hits
}

func checkApkUpgrade(c *checker) (hits []Hit) {
	for _, in := range c.runs() {
		for _, cmd := range c.script(in).Commands {
			if cmd.Name == "apk" {
				if sub, _, _ := subcommand("apk", cmd); sub == "upgrade" {
					hits = append(hits, hit(in, "apk upgrade upgrades every package at build time"))
				}
			}
		}
	}
	return hits
}
