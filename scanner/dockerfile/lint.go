package dockerfile

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/policy"
)

// DocsURL is where docs/rules.md is published; each rule's anchor is its id in lower case.
const DocsURL = "https://github.com/imagegate/imagegate/blob/main/docs/rules.md"

// Options configures Lint.
type Options struct {
	// ContextDir is the build context folder whose .dockerignore and files are checked
	// (default: the Dockerfile's folder, for the .dockerignore only).
	ContextDir string
	// Disabled rules are not run (by id, or by their hadolint id).
	Disabled []string
	// Severity overrides a rule's severity (by id).
	Severity map[string]report.Severity
}

// Rules lists every rule, sorted by id.
func Rules() []report.Rule {
	out := make([]report.Rule, len(registry))
	for i, r := range registry {
		out[i] = r.Rule
	}
	return out
}

// RuleByID finds a rule by its id or its hadolint id.
func RuleByID(id string) (report.Rule, bool) {
	for _, r := range registry {
		if strings.EqualFold(r.ID, id) || (r.Hadolint != "" && strings.EqualFold(r.Hadolint, id)) {
			return r.Rule, true
		}
	}
	return report.Rule{}, false
}

// RuleIDs returns the rule ids an id names: itself, or every rule a hadolint id maps to
// (DL3020 covers DF006 and DF007).
func RuleIDs(id string) []string {
	var out []string
	for _, r := range registry {
		if strings.EqualFold(r.ID, id) || (r.Hadolint != "" && strings.EqualFold(r.Hadolint, id)) {
			out = append(out, r.ID)
		}
	}
	return out
}

// checker is what every rule's check reads: the parsed Dockerfile, its build context, and
// the analyses of its RUN scripts, each computed once and shared (read-only to the rules).
type checker struct {
	d        *Dockerfile
	ctx      *buildContext
	scripts  map[*Instruction]*Script
	installs map[*Instruction][]install
}

// installsOf returns the package installs of a RUN (cached across rules).
func (c *checker) installsOf(i *Instruction) []install {
	if in, ok := c.installs[i]; ok {
		return in
	}
	in := installs(c.script(i))
	c.installs[i] = in
	return in
}

// script returns the analysed shell of a RUN (cached across rules).
func (c *checker) script(i *Instruction) *Script {
	if s, ok := c.scripts[i]; ok {
		return s
	}
	s := i.script()
	c.scripts[i] = s
	return s
}

// runs returns every RUN instruction, with its script.
func (c *checker) runs(stages ...*Stage) []*Instruction {
	var out []*Instruction
	if len(stages) == 0 {
		stages = c.d.Stages
	}
	for _, s := range stages {
		for _, i := range s.Instructions {
			if i.Cmd == "run" {
				out = append(out, i)
			}
		}
	}
	return out
}

// finding makes the finding of rule r (at severity sev) for h.
func (d *Dockerfile) finding(r report.Rule, h Hit) report.Finding {
	end := d.lineText(h.At.EndLine)
	f := report.Finding{
		Kind:     report.KindDockerfile,
		ID:       r.ID,
		Title:    r.Title,
		Severity: r.Severity,
		Message:  h.Message,
		Layer:    -1,
		Location: &report.Location{
			Path:        d.Path,
			StartLine:   h.At.StartLine,
			EndLine:     h.At.EndLine,
			StartColumn: 1,
			EndColumn:   len([]rune(end)) + 1,
		},
		Rule: &r,
	}
	f.Fingerprint = report.MakeFingerprint(string(f.Kind), r.ID, filepath.ToSlash(d.Path), strings.Join(strings.Fields(h.At.Original), " "), f.Message)
	return f
}

// Lint runs every rule over d and returns the findings in line order. Rules switched off
// in Options or by an inline comment on the line before an instruction
// (`# imagegate ignore=DF017` or `# hadolint ignore=DL3008`) report nothing there.
func Lint(d *Dockerfile, o Options) []report.Finding {
	disabled := map[string]bool{}
	for _, id := range o.Disabled {
		for _, rid := range RuleIDs(id) {
			disabled[rid] = true
		}
	}
	bc := loadContext(d, o.ContextDir)
	c := &checker{d: d, ctx: bc, scripts: map[*Instruction]*Script{}, installs: map[*Instruction][]install{}}
	var found []report.Finding
	for _, r := range registry {
		if disabled[r.ID] {
			continue
		}
		desc := r.Rule
		if sev, ok := o.Severity[r.ID]; ok {
			desc.Severity = sev
		}
		for _, h := range r.Check(c) {
			found = append(found, d.finding(desc, h))
		}
	}
	ignores := inlineIgnores(d)
	var out []report.Finding
	seen := map[string]bool{}
	for _, f := range found {
		if ignores[f.Location.StartLine][f.ID] {
			continue
		}
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Location, out[j].Location
		if a.StartLine != b.StartLine {
			return a.StartLine < b.StartLine
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// inlineIgnores reads `# imagegate ignore=ID[,ID]` and `# hadolint ignore=DLxxxx[,...]`
// comments: they apply to the instruction right below them.
func inlineIgnores(d *Dockerfile) map[int]map[string]bool {
	out := map[int]map[string]bool{}
	for _, inst := range d.Instructions {
		for _, c := range inst.Comments {
			c = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), "#"))
			var list string
			switch {
			case strings.HasPrefix(c, "imagegate ignore="):
				list = strings.TrimPrefix(c, "imagegate ignore=")
			case strings.HasPrefix(c, "hadolint ignore="):
				list = strings.TrimPrefix(c, "hadolint ignore=")
			default:
				continue
			}
			for _, id := range strings.Split(list, ",") {
				id = strings.TrimSpace(strings.Fields(id + " ")[0])
				for _, rid := range RuleIDs(id) {
					if out[inst.StartLine] == nil {
						out[inst.StartLine] = map[string]bool{}
					}
					out[inst.StartLine][rid] = true
				}
			}
		}
	}
	return out
}

// ExpandIgnores turns a hadolint id in an ignore entry's rule into imagegate's rule ids.
func ExpandIgnores(in []policy.Ignore) []policy.Ignore {
	var out []policy.Ignore
	for _, ig := range in {
		if ig.Rule == "" {
			out = append(out, ig)
			continue
		}
		ids := RuleIDs(ig.Rule)
		if len(ids) == 0 {
			out = append(out, ig) // unknown rule: matches nothing, harmlessly
		}
		for _, id := range ids {
			c := ig
			c.Rule = id
			out = append(out, c)
		}
	}
	return out
}

// Severities keys severity overrides by rule id (hadolint ids are accepted too).
func Severities(in map[string]report.Severity) map[string]report.Severity {
	out := map[string]report.Severity{}
	for id, s := range in {
		if r, ok := RuleByID(id); ok {
			out[r.ID] = s
		}
	}
	return out
}
