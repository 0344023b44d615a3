package scanner

import (
	"context"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/dockerfile"
	"github.com/imagegate/imagegate/scanner/imagecheck"
	"github.com/imagegate/imagegate/scanner/imageref"
	"github.com/imagegate/imagegate/scanner/policy"
)

// decide applies the policy (threshold, ignore entries, VEX) and sets the verdict. An
// analysis that stopped early makes the run incomplete, and an incomplete run never passes
// the gate unless the policy allows it, said in the verdict.
func decide(ctx context.Context, pol *policy.Policy, cfg *config.Config, res *report.Result) error {
	res.Findings = imagecheck.DropRepeats(res.Findings)
	sortFindings(res.Findings)
	p := policy.Default
	if pol != nil {
		p = *pol
	}
	p.Ignores = append(p.Ignores, dockerfile.ExpandIgnores(cfg.Ignore)...)
	if res.Image != nil {
		ids := imageIDs(res.Image)
		p.ImageIDs, p.ImagePlatform = append(p.ImageIDs, ids...), res.Image.Platform
		if len(ids) > 1 {
			res.Image.PURL = ids[1] // its OCI purl, by its most specific digest
		}
	}
	var warnings []string
	res.Findings, res.Verdict, warnings = policy.Apply(res.Findings, p)
	res.Warnings = append(res.Warnings, warnings...)
	if err := context.Cause(ctx); err != nil {
		return failure.Incompletef("the scan did not finish: %w", err)
	}
	res.Verdict.Incomplete = len(res.Incomplete)
	res.Verdict.AllowIncomplete = p.AllowIncomplete
	if res.Verdict.Incomplete > 0 && !p.AllowIncomplete {
		res.Verdict.Pass = false
	}
	return nil
}

// imageIDs are the names a VEX document may use for the scanned image: its reference and
// an OCI purl with its digest.
func imageIDs(img *report.ImageInfo) []string {
	ids := []string{img.Name}
	repo := filepath.Base(img.Name) // an archive: its file name
	if r, ok := imageref.Parse(img.Repository); ok {
		repo = r.ShortName()
	}
	for _, d := range []string{img.Digest, img.IndexDigest, img.ID} {
		if d != "" {
			ids = append(ids, "pkg:oci/"+repo+"@"+strings.Replace(d, ":", "%3A", 1))
		}
	}
	return ids
}

// sortFindings orders findings most severe first, then by kind.
func sortFindings(fs []report.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		return a.Kind < b.Kind
	})
}
