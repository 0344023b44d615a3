package dockerfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imagegate/imagegate/report"
)

// Rule is one Dockerfile rule: what it checks, in named fields (id, severity, title, why
// it matters, the fix, and the hadolint and dockle ids it covers), and Check, a pure
// function from the Dockerfile to the instructions that break the rule. Rules live in
// files by theme (rules_user.go, rules_base.go, rules_apt.go, ...), each with its good and
// bad cases in the matching _test.go file.
type Rule struct {
	report.Rule
	Check func(*checker) []Hit
}

// Hit is one place a rule is broken: the instruction, and what is wrong there.
type Hit struct {
	At      *Instruction
	Message string
}

func hit(at *Instruction, format string, args ...any) Hit {
	return Hit{At: at, Message: fmt.Sprintf(format, args...)}
}

// registry holds every rule, sorted by id; HelpURI points at the rule's anchor in
// docs/rules.md. Ids are stable: a rule that goes away leaves a gap.
var registry = func() []Rule {
	all := slices.Concat(userRules, baseRules, copyRules, secretsRules, contextRules, runRules,
		aptRules, apkRules, rpmRules, langRules, instructionsRules)
	slices.SortFunc(all, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	for i := range all {
		all[i].HelpURI = DocsURL + "#" + strings.ToLower(all[i].ID)
	}
	return all
}()
