package dockerfile

import (
	"fmt"
	"strings"
)

// RulesMarkdown renders docs/rules.md: every rule with its anchor, severity, rationale, fix
// and the hadolint or dockle rule it corresponds to.
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString("# Dockerfile rules\n\n")
	b.WriteString("<!-- Generated from scanner/dockerfile/rules_*.go by `go test ./scanner/dockerfile -run TestRulesDoc -update`. -->\n\n")
	b.WriteString("`imagegate lint DOCKERFILE` and `imagegate scan --dockerfile` check these rules. Silence one on a\n")
	b.WriteString("single instruction with a comment on the line above it (`# imagegate ignore=DF017`;\n")
	b.WriteString("`# hadolint ignore=DL3008` works for rules with a hadolint equivalent), or for the whole\n")
	b.WriteString("project in `.imagegate.yaml`:\n\n")
	b.WriteString("```yaml\ndockerfile:\n  disable: [DF003, DL3008]\n  severity:\n    DF017: medium\n```\n\n")
	b.WriteString("| id | severity | title | hadolint | dockle |\n|---|---|---|---|---|\n")
	for _, r := range Rules() {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s | %s |\n", r.ID, strings.ToLower(r.ID), r.Severity, r.Title, dash(r.Hadolint), dash(r.Dockle))
	}
	for _, r := range Rules() {
		fmt.Fprintf(&b, "\n## %s\n\n**%s** · severity %s", r.ID, r.Title, r.Severity)
		if r.Hadolint != "" {
			fmt.Fprintf(&b, " · hadolint %s", r.Hadolint)
		}
		if r.Dockle != "" {
			fmt.Fprintf(&b, " · dockle %s", r.Dockle)
		}
		fmt.Fprintf(&b, "\n\nWhy: %s\n\nFix: %s\n", r.Rationale, r.Fix)
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
