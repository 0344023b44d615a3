package scanner

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/baseimage"
	"github.com/imagegate/imagegate/scanner/dockerfile"
	"github.com/imagegate/imagegate/scanner/imagecheck"
)

// attribute splits the layers into base and app (by the resolved base image, else the
// Dockerfile, else the history), maps findings to Dockerfile lines, and reports a base
// image whose tag has moved on. history is the image config with secrets redacted.
func attribute(src *source, history *v1.ConfigFile, df *dockerfile.Dockerfile, res *report.Result) *baseimage.Attribution {
	if src.warning != "" {
		res.Warnings = append(res.Warnings, src.warning)
	}
	if src.stale != nil {
		res.Findings = append(res.Findings, *src.stale)
	}
	a := baseimage.Attribute(baseimage.Input{Config: history, Dockerfile: df, BaseDiffIDs: src.baseDiffIDs})
	res.Warnings = append(res.Warnings, a.Warnings...)
	recordAttribution(a, res)
	imagecheck.Rank(res.Findings)
	return a
}

// recordAttribution gives each finding its origin and the result the split.
func recordAttribution(a *baseimage.Attribution, res *report.Result) {
	a.Apply(res.Findings)
	if a.Method != "" {
		res.Base = &report.BaseInfo{Layers: a.BaseLayers, Method: a.Method, Inferred: a.Inferred}
	}
}

// excludeBase drops the base image's findings (--exclude-base), or says why it cannot.
func excludeBase(on bool, a *baseimage.Attribution, res *report.Result) {
	if !on {
		return
	}
	if a.Method == "" {
		res.Warnings = append(res.Warnings, "exclude-base: the base image's layers could not be told apart; nothing was excluded")
		return
	}
	kept := res.Findings[:0]
	for _, f := range res.Findings {
		if f.Origin != report.OriginBase {
			kept = append(kept, f)
		}
	}
	res.Findings = kept
}
