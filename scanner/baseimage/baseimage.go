// Package baseimage tells which layers of an image came from its base image and which the
// Dockerfile added, maps every layer to the Dockerfile instruction that made it, and says
// whether the base image's tag has moved on since the build.
package baseimage

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/dockerfile"
)

// Method names how the base layers were found.
const (
	MethodBaseImage  = "base-image" // the base image's own layers (from the registry)
	MethodDockerfile = "dockerfile" // the final stage's instructions matched to the history
	MethodHistory    = "history"    // the history alone (inferred)
)

// LayerOrigin is what is known about one layer.
type LayerOrigin struct {
	Base bool
	// Instruction is the history entry that made the layer.
	Instruction string
	// Location is the Dockerfile instruction that made the layer (the FROM line for base
	// layers), when the Dockerfile is known.
	Location *report.Location
}

// Attribution is the result for a whole image.
type Attribution struct {
	Layers []LayerOrigin
	// History is the same per image history entry, empty layers (ENV, USER, EXPOSE)
	// included.
	History    []LayerOrigin
	BaseLayers int
	Method     string
	// Inferred says the split or the line mapping is a best guess.
	Inferred bool
	Warnings []string
}

// Input is what Attribute works from.
type Input struct {
	Config *v1.ConfigFile
	// BaseDiffIDs are the base image's layers, when it was resolved.
	BaseDiffIDs []string
	// Dockerfile is the image's Dockerfile, when known.
	Dockerfile *dockerfile.Dockerfile
}

type entry struct {
	h     v1.History
	layer int // -1 for empty layers
}

// Attribute splits the layers into base and app and maps them to Dockerfile lines.
func Attribute(in Input) *Attribution {
	cf := in.Config
	diffIDs := cf.RootFS.DiffIDs
	a := &Attribution{Layers: make([]LayerOrigin, len(diffIDs))}
	var hist []entry
	li := 0
	for _, h := range cf.History {
		e := entry{h: h, layer: -1}
		if !h.EmptyLayer {
			e.layer = li
			li++
		}
		hist = append(hist, e)
	}
	if li != len(diffIDs) {
		a.Warnings = append(a.Warnings, fmt.Sprintf("the image history describes %d layers but the image has %d: layer attribution is inferred", li, len(diffIDs)))
		a.Inferred = true
	}
	for _, e := range hist {
		if e.layer >= 0 && e.layer < len(a.Layers) {
			a.Layers[e.layer].Instruction = e.h.CreatedBy
		}
	}

	baseHist := a.split(in, hist) // number of history entries that belong to the base image
	if baseHist < 0 {
		baseHist = historyGuess(hist)
		if baseHist >= 0 {
			a.Method, a.Inferred = MethodHistory, true
		}
	}
	if baseHist < 0 {
		return a
	}
	if a.Method != MethodBaseImage {
		for _, e := range hist[:baseHist] {
			if e.layer >= 0 {
				a.BaseLayers++
			}
		}
	}
	for i := range a.Layers {
		a.Layers[i].Base = i < a.BaseLayers
	}
	a.History = make([]LayerOrigin, len(hist))
	for i, e := range hist {
		a.History[i] = LayerOrigin{Base: i < baseHist, Instruction: e.h.CreatedBy}
	}
	if in.Dockerfile != nil {
		a.locate(in.Dockerfile, hist)
	}
	return a
}

// split finds how many history entries belong to the base image: from the base image's
// layers when it was resolved, else from the Dockerfile's final stage; -1 when neither
// tells.
func (a *Attribution) split(in Input, hist []entry) int {
	diffIDs := in.Config.RootFS.DiffIDs
	switch {
	case len(in.BaseDiffIDs) > 0:
		n := 0
		for n < len(in.BaseDiffIDs) && n < len(diffIDs) && in.BaseDiffIDs[n] == diffIDs[n].String() {
			n++
		}
		a.Method, a.BaseLayers = MethodBaseImage, n
		if n < len(in.BaseDiffIDs) {
			a.Inferred = true
			a.Warnings = append(a.Warnings, fmt.Sprintf("the image shares only %d of the base image's %d layers: it was built on another version of it", n, len(in.BaseDiffIDs)))
		}
		return historyIndexAfterLayers(hist, n)
	case in.Dockerfile != nil:
		app := appInstructions(in.Dockerfile)
		if len(app) > len(hist) {
			a.Inferred = true
			a.Warnings = append(a.Warnings, fmt.Sprintf("the Dockerfile's final stage has %d instructions but the image history only %d entries: line attribution is unknown", len(app), len(hist)))
			return -1
		}
		a.Method = MethodDockerfile
		if !matches(hist[len(hist)-len(app):], app) {
			a.Inferred = true
			a.Warnings = append(a.Warnings, "the Dockerfile's final stage does not match the image history: line attribution is inferred")
		}
		return len(hist) - len(app)
	}
	return -1
}

// locate maps each history entry, and the layer it made, to its Dockerfile line: the
// base image's to the final stage's FROM, the rest to the stage's instructions in order.
func (a *Attribution) locate(df *dockerfile.Dockerfile, hist []entry) {
	from := location(df, df.Final().From)
	app := appInstructions(df)
	for i, e := range hist {
		var loc *report.Location
		switch j := i - (len(hist) - len(app)); {
		case a.History[i].Base:
			loc = from
		case j >= 0 && j < len(app):
			loc = location(df, app[j])
		}
		a.History[i].Location = loc
		if e.layer >= 0 && e.layer < len(a.Layers) {
			a.Layers[e.layer].Location = loc
		}
	}
}

func historyIndexAfterLayers(hist []entry, layers int) int {
	if layers == 0 {
		return 0
	}
	for i, e := range hist {
		if e.layer == layers-1 {
			// Empty entries right after the base's last layer (its CMD, ENV) are the base's too.
			j := i + 1
			for j < len(hist) && hist[j].layer < 0 && !strings.Contains(hist[j].h.CreatedBy, "# buildkit") && strings.Contains(hist[j].h.CreatedBy, "#(nop)") {
				j++
			}
			return j
		}
	}
	return len(hist)
}

// appInstructions are the final stage's instructions that leave a history entry (ARG
// does not).
func appInstructions(df *dockerfile.Dockerfile) []*dockerfile.Instruction {
	var out []*dockerfile.Instruction
	for _, in := range df.Final().Instructions {
		if in.Cmd != "arg" {
			out = append(out, in)
		}
	}
	return out
}

// normalize strips the builders' decorations from a history entry.
func normalize(createdBy string) string {
	s := strings.TrimSpace(createdBy)
	s = strings.TrimSuffix(s, "# buildkit")
	s = strings.TrimSpace(strings.TrimPrefix(s, "/bin/sh -c #(nop)"))
	return strings.TrimSpace(s)
}

// matches checks that each history entry is the instruction it is paired with.
func matches(hist []entry, app []*dockerfile.Instruction) bool {
	for i, in := range app {
		got := strings.ToUpper(normalize(hist[i].h.CreatedBy))
		kw := strings.ToUpper(in.Cmd)
		switch {
		case strings.HasPrefix(got, kw):
		case kw == "RUN" && (strings.HasPrefix(got, "/BIN/SH -C") || strings.HasPrefix(got, "|")):
		default:
			return false
		}
	}
	return true
}

// historyGuess finds where the base image ends without a Dockerfile: after the last
// CMD or ENTRYPOINT that the base image set before the layers that follow it.
func historyGuess(hist []entry) int {
	last := -1
	for i, e := range hist {
		n := strings.ToUpper(normalize(e.h.CreatedBy))
		if e.layer < 0 && (strings.HasPrefix(n, "CMD") || strings.HasPrefix(n, "ENTRYPOINT")) {
			later := false
			for _, f := range hist[i+1:] {
				if f.layer >= 0 {
					later = true
				}
			}
			if later {
				last = i
			}
		}
	}
	if last < 0 {
		return -1
	}
	return last + 1
}

func location(df *dockerfile.Dockerfile, in *dockerfile.Instruction) *report.Location {
	return &report.Location{Path: df.Path, StartLine: in.StartLine, EndLine: in.EndLine, StartColumn: 1}
}

// Apply records origins on findings that came from a layer: base or app, the instruction,
// and the Dockerfile line when it is known (and the finding has no location of its own).
func (a *Attribution) Apply(fs []report.Finding) {
	for i := range fs {
		f := &fs[i]
		var lo LayerOrigin
		switch {
		case f.Layer >= 0 && f.Layer < len(a.Layers):
			lo = a.Layers[f.Layer]
		case f.Layer >= 0:
			// Without the layer list (an SBOM keeps only the split), the split decides.
			lo = LayerOrigin{Base: f.Layer < a.BaseLayers}
		case f.History != nil && *f.History >= 0 && *f.History < len(a.History):
			lo = a.History[*f.History]
		default:
			continue
		}
		if f.Instruction == "" {
			f.Instruction = lo.Instruction
		}
		if a.Method != "" {
			f.Origin = report.OriginApp
			if lo.Base {
				f.Origin = report.OriginBase
			}
			f.Inferred = a.Inferred
		}
		if f.Location == nil && lo.Location != nil {
			loc := *lo.Location
			f.Location = &loc
		}
	}
}

// Stale is the finding for a base image whose tag now points at another image.
var Stale = &report.Rule{
	ID: "BASE001", Severity: report.Medium, Title: "The base image has a newer version",
	Rationale: "The base image's tag now points at a different image than the one this image was built on: fixes published since are missing.",
	Fix:       "Rebuild the image (and pin the new base by digest) to pick up the base image's fixes.",
	HelpURI:   "https://github.com/imagegate/imagegate/blob/main/docs/image-checks.md#base001",
}

// StaleFinding reports that ref now resolves to digest, which the image is not built on.
func StaleFinding(ref, digest string, df *dockerfile.Dockerfile) report.Finding {
	f := report.Finding{
		Kind: report.KindImage, ID: Stale.ID, Title: Stale.Title, Severity: Stale.Severity, Rule: Stale, Layer: -1,
		Message: fmt.Sprintf("%s now points at %s, which this image was not built on: rebuild to pick up base image fixes", ref, digest),
	}
	if df != nil {
		f.Location = location(df, df.Final().From)
	}
	f.Fingerprint = report.MakeFingerprint("image", Stale.ID, ref)
	return f
}
