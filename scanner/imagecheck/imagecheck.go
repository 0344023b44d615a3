// Package imagecheck checks the built image itself, as dockle does and more: the user it
// runs as, secrets in its config and history, setuid and world-writable files, empty
// passwords, duplicate IDs, sensitive ports and volumes, and files that do not belong in
// an image. (Secrets in every layer's files are the secrets package's analyzer.)
//
// Each check is a value: its description in named fields, a pure function from the image
// to its hits, and the Dockerfile rules that already say the same with a line. Checks
// live in files by theme: config.go (the image config and history), files.go (the final
// filesystem), accounts.go (users and groups).
package imagecheck

import (
	"context"
	"io/fs"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// DocsURL is where docs/image-checks.md is published.
const DocsURL = "https://github.com/imagegate/imagegate/blob/main/docs/image-checks.md"

// Check is one image check.
type Check struct {
	report.Rule
	// Run returns what the check finds in the image.
	Run func(*input) []Hit
	// Repeats are the Dockerfile rules that report the same problem with its line: when
	// one of them fired, this check's findings are left out (DropRepeats).
	Repeats []string
	// AppSeverity, when set, is the severity of a finding the application's own layers
	// brought (a setuid program the Dockerfile added ranks above the base image's usual
	// ones): see Rank.
	AppSeverity report.Severity
}

// Hit is one problem found: what, the path in the image it is about (if any), the layer
// it came from (-1: the image config as a whole) and the history entry that made it.
type Hit struct {
	Message     string
	Target      string
	Layer       int
	Instruction string
	// History is the image history entry a config-level hit comes from (the ENV that set
	// a variable), for attribution to its Dockerfile line.
	History *int
}

// input is what every check reads.
type input struct {
	ctx context.Context
	cf  *v1.ConfigFile
	idx *image.Index
	// files are the final filesystem's entries in path order (idx.Files, listed once
	// for the checks that go through them all).
	files []*image.File
	det   *secrets.Detector
	// incomplete lists what a check could not read whole: its result is not a pass.
	incomplete []string
}

// checks is every check, in id order.
var checks = func() []*Check {
	all := append(append(append([]*Check{}, configChecks...), fileChecks...), accountChecks...)
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	for _, c := range all {
		c.HelpURI = DocsURL + "#" + strings.ToLower(c.ID)
	}
	return all
}()

// Rules lists the checks' descriptions, with the layer secret check's.
func Rules() []*report.Rule {
	out := make([]*report.Rule, 0, len(checks)+1)
	for _, c := range checks {
		out = append(out, &c.Rule)
	}
	return append(out, secrets.InLayer)
}

// Analyzer runs the checks. It is an image.Requirer: the walk keeps the account files.
type Analyzer struct {
	det *secrets.Detector
}

// New returns the analyzer, sharing the secret detector.
func New(d *secrets.Detector) *Analyzer { return &Analyzer{det: d} }

// Name implements analyzer.Analyzer.
func (*Analyzer) Name() string { return "imagecheck" }

var accountFiles = map[string]bool{"etc/passwd": true, "etc/shadow": true, "etc/group": true}

// Required implements image.Requirer.
func (a *Analyzer) Required(p string, _ fs.FileInfo) bool { return accountFiles[p] }

// Analyze implements analyzer.Analyzer: every check on the walked image and its config.
func (a *Analyzer) Analyze(ctx context.Context, idx *image.Index, cf *v1.ConfigFile) (*report.Result, error) {
	in := &input{ctx: ctx, cf: cf, idx: idx, files: idx.Files(), det: a.det}
	var out []report.Finding
	for _, c := range checks {
		for _, h := range c.Run(in) {
			out = append(out, report.Finding{
				Kind: report.KindImage, ID: c.ID, Title: c.Title, Severity: c.Severity, Rule: &c.Rule,
				Message: h.Message, Target: h.Target, Layer: h.Layer, Instruction: h.Instruction, History: h.History,
				Fingerprint: report.MakeFingerprint(string(report.KindImage), c.ID, h.Target, h.Message),
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return &report.Result{Findings: out, Incomplete: in.incomplete}, nil
}

// Rank raises the findings the application's own layers brought to their check's
// AppSeverity, once attribution has said which layers are the base image's.
func Rank(fs []report.Finding) {
	for i := range fs {
		f := &fs[i]
		if f.Kind != report.KindImage || f.Origin != report.OriginApp {
			continue
		}
		for _, c := range checks {
			if c.ID == f.ID && c.AppSeverity > f.Severity {
				f.Severity = c.AppSeverity
			}
		}
	}
}

// DropRepeats leaves out image findings that a Dockerfile finding already reports.
func DropRepeats(fs []report.Finding) []report.Finding {
	fired := map[string]bool{}
	for _, f := range fs {
		if f.Kind == report.KindDockerfile {
			fired[f.ID] = true
		}
	}
	repeats := map[string][]string{}
	for _, c := range checks {
		repeats[c.ID] = c.Repeats
	}
	out := fs[:0]
	for _, f := range fs {
		dup := false
		if f.Kind == report.KindImage {
			for _, id := range repeats[f.ID] {
				dup = dup || fired[id]
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}
