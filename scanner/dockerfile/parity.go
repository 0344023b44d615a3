package dockerfile

import (
	"slices"
	"strings"
)

// Equivalent maps another tool's Dockerfile check to the imagegate rules that cover it, or
// says why none does.
type Equivalent struct {
	Tool   string // "hadolint" or "trivy"
	ID     string // DL3008, SC2046, DS-0017
	Rules  []string
	Reason string
}

// shellcheck is why ShellCheck's checks (which hadolint runs over RUN) have no rule of
// their own here.
const shellcheck = "ShellCheck's shell-script lint: imagegate parses RUN scripts with mvdan.cc/sh for what its rules check (piped installers DF014, sudo DF039, cd DF040, pipefail DF046, package managers) and does not run ShellCheck; run it on scripts you COPY"

// parity is every equivalence the rules' Hadolint fields do not already say.
var parity = []Equivalent{
	{Tool: "hadolint", ID: "DL1001", Reason: "about hadolint's own pragmas: imagegate honours `# hadolint ignore=` and `# imagegate ignore=` on the line above an instruction, and ignore entries in .imagegate.yaml need a reason"},
	{Tool: "hadolint", ID: "DL3010", Reason: "the opposite advice: ADD's silent extraction is the surprise DF008 reports; extract with tar in a RUN, or COPY"},
	{Tool: "hadolint", ID: "DL3026", Reason: "needs the team's list of allowed registries, which imagegate has no setting for yet; pinning by digest (DF003) fixes what is pulled"},
	{Tool: "hadolint", ID: "DL3029", Reason: "FROM --platform=$BUILDPLATFORM is how cross-builds are written; not a security or reproducibility problem"},
	{Tool: "hadolint", ID: "DL3043", Rules: []string{"DF059"}, Reason: "BuildKit refuses ONBUILD ONBUILD, FROM and MAINTAINER: an invalid instruction"},
	{Tool: "hadolint", ID: "DL3047", Reason: "wget's progress output in build logs: log size, not the image"},
	{Tool: "hadolint", ID: "DL3049", Reason: "required labels are a team convention: configure them in your own policy; DF053 checks label keys"},
	{Tool: "hadolint", ID: "DL3050", Reason: "superfluous labels are a team convention"},
	{Tool: "hadolint", ID: "DL3051", Reason: "label value formats are a team convention (label schema)"},
	{Tool: "hadolint", ID: "DL3052", Reason: "label value formats are a team convention (label schema)"},
	{Tool: "hadolint", ID: "DL3053", Reason: "label value formats are a team convention (label schema)"},
	{Tool: "hadolint", ID: "DL3054", Reason: "label value formats are a team convention (label schema)"},
	{Tool: "hadolint", ID: "DL3055", Reason: "label value formats are a team convention (label schema)"},
	{Tool: "hadolint", ID: "DL3056", Reason: "label value formats are a team convention (label schema)"},
	{Tool: "hadolint", ID: "DL3058", Reason: "label value formats are a team convention (label schema)"},
	{Tool: "hadolint", ID: "DL3057", Rules: []string{"DF055"}},
	{Tool: "hadolint", ID: "DL3059", Reason: "consecutive RUNs are a style and cache choice; what a RUN leaves behind (caches, lists) is what DF018, DF021, DF026, DF029, DF032, DF035 and DF070 check"},
	{Tool: "hadolint", ID: "DL3061", Rules: []string{"DF059"}, Reason: "BuildKit refuses a Dockerfile that does not start with FROM or ARG"},
	{Tool: "hadolint", ID: "DL3064", Rules: []string{"DF009", "DF010"}},
	{Tool: "hadolint", ID: "DL3065", Reason: "a redundant --platform=$TARGETPLATFORM changes nothing in the image"},

	{Tool: "trivy", ID: "DS-0001", Rules: []string{"DF004", "DF005"}},
	{Tool: "trivy", ID: "DS-0002", Rules: []string{"DF001", "DF002"}},
	{Tool: "trivy", ID: "DS-0004", Rules: []string{"DF054"}},
	{Tool: "trivy", ID: "DS-0005", Rules: []string{"DF006", "DF007"}},
	{Tool: "trivy", ID: "DS-0006", Rules: []string{"DF048"}},
	{Tool: "trivy", ID: "DS-0007", Rules: []string{"DF044"}},
	{Tool: "trivy", ID: "DS-0008", Rules: []string{"DF050"}},
	{Tool: "trivy", ID: "DS-0009", Rules: []string{"DF041"}},
	{Tool: "trivy", ID: "DS-0010", Rules: []string{"DF039"}},
	{Tool: "trivy", ID: "DS-0011", Rules: []string{"DF062"}},
	{Tool: "trivy", ID: "DS-0012", Rules: []string{"DF049"}},
	{Tool: "trivy", ID: "DS-0013", Rules: []string{"DF040"}},
	{Tool: "trivy", ID: "DS-0014", Rules: []string{"DF057"}},
	{Tool: "trivy", ID: "DS-0015", Rules: []string{"DF026"}},
	{Tool: "trivy", ID: "DS-0016", Rules: []string{"DF043"}},
	{Tool: "trivy", ID: "DS-0017", Rules: []string{"DF067"}},
	{Tool: "trivy", ID: "DS-0019", Rules: []string{"DF029"}},
	{Tool: "trivy", ID: "DS-0020", Rules: []string{"DF032"}},
	{Tool: "trivy", ID: "DS-0021", Rules: []string{"DF015"}},
	{Tool: "trivy", ID: "DS-0022", Rules: []string{"DF045"}},
	{Tool: "trivy", ID: "DS-0023", Rules: []string{"DF051"}},
	{Tool: "trivy", ID: "DS-0024", Rules: []string{"DF019"}},
	{Tool: "trivy", ID: "DS-0025", Rules: []string{"DF021"}},
	{Tool: "trivy", ID: "DS-0026", Rules: []string{"DF055"}},
	{Tool: "trivy", ID: "DS-0027", Rules: []string{"DF029"}, Reason: "microdnf is read as dnf"},
	{Tool: "trivy", ID: "DS-0029", Rules: []string{"DF016"}},
	{Tool: "trivy", ID: "DS-0030", Rules: []string{"DF066"}},
	{Tool: "trivy", ID: "DS-0031", Rules: []string{"DF009", "DF010", "DF058"}},
}

// Parity lists what covers each hadolint and Trivy Dockerfile check: the rules whose
// Hadolint field names it, and the explicit entries above; a ShellCheck id (SCnnnn)
// hadolint runs gets the shellcheck reason.
func Parity(hadolint, trivy []string) []Equivalent {
	var out []Equivalent
	for _, id := range hadolint {
		e := Equivalent{Tool: "hadolint", ID: id}
		for _, r := range registry {
			if r.Hadolint == id {
				e.Rules = append(e.Rules, r.ID)
			}
		}
		if i := slices.IndexFunc(parity, func(p Equivalent) bool { return p.Tool == "hadolint" && p.ID == id }); i >= 0 {
			e.Rules = append(e.Rules, parity[i].Rules...)
			e.Reason = parity[i].Reason
		}
		if strings.HasPrefix(id, "SC") && len(e.Rules) == 0 {
			e.Reason = shellcheck
		}
		out = append(out, e)
	}
	for _, id := range trivy {
		e := Equivalent{Tool: "trivy", ID: id}
		if i := slices.IndexFunc(parity, func(p Equivalent) bool { return p.Tool == "trivy" && p.ID == id }); i >= 0 {
			e.Rules, e.Reason = parity[i].Rules, parity[i].Reason
		}
		out = append(out, e)
	}
	return out
}
