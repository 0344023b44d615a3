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

// OtherCheck is a Dockerfile check of another tool (hadolint, Trivy).
type OtherCheck struct{ Tool, ID, Title string }

// ParityMarkdown renders the part of docs/rules.md that maps every hadolint rule (and the
// ShellCheck rules it runs) and every Trivy Dockerfile check to imagegate's rules, or says
// why none applies.
func ParityMarkdown(checks []OtherCheck) string {
	var b strings.Builder
	b.WriteString("\n## Parity with hadolint and Trivy\n\n")
	b.WriteString("Every rule of hadolint (`DL`, and the ShellCheck `SC` rules it runs on RUN) and every Trivy\n")
	b.WriteString("Dockerfile check (`DS`), with the imagegate rules that cover it or the reason none does.\n")
	b.WriteString("`# hadolint ignore=DLxxxx` silences exactly the rules listed for that id.\n")
	b.WriteString("Lists: hadolint's README at 8f936c5, aquasecurity/trivy-checks `checks/docker` at 80e53822 (`testdata/parity`).\n\n")
	b.WriteString("| tool | id | check | imagegate | why not |\n|---|---|---|---|---|\n")
	var hadolint, trivy []string
	titles := map[string]string{}
	for _, c := range checks {
		titles[c.ID] = c.Title
		if c.Tool == "hadolint" {
			hadolint = append(hadolint, c.ID)
		} else {
			trivy = append(trivy, c.ID)
		}
	}
	for _, e := range Parity(hadolint, trivy) {
		var links []string
		for _, r := range e.Rules {
			links = append(links, fmt.Sprintf("[%s](#%s)", r, strings.ToLower(r)))
		}
		why := e.Reason
		if e.ID[:2] == "SC" {
			why = "ShellCheck lint (see below)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", e.Tool, e.ID, strings.ReplaceAll(titles[e.ID], "|", "\\|"), dash(strings.Join(links, ", ")), dash(why))
	}
	fmt.Fprintf(&b, "\nShellCheck rules: %s.\n", shellcheck)
	return b.String()
}
