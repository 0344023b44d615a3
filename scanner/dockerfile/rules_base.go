package dockerfile

import (
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/imageref"
)

// baseRules are the rules about the base images (FROM).
var baseRules = []Rule{
	{Rule: report.Rule{
		ID: "DF003", Severity: report.Medium, Title: "Base image not pinned by digest",
		Rationale: "A tag can be moved to different content at any time; only a digest names exactly the image you tested, and makes builds reproducible.",
		Fix:       "Pin the base image: `FROM alpine:3.20@sha256:<digest>` (tools such as Renovate or Dependabot keep digests current).",
	}, Check: checkDigest},
	{Rule: report.Rule{
		ID: "DF004", Severity: report.Medium, Title: "Base image uses the latest tag", Hadolint: "DL3007",
		Rationale: "`latest` changes under you: the next build may pull a different major version with different packages and vulnerabilities.",
		Fix:       "Name an explicit version tag, and pin it by digest.",
	}, Check: checkLatest},
	{Rule: report.Rule{
		ID: "DF005", Severity: report.Medium, Title: "Base image has no tag", Hadolint: "DL3006",
		Rationale: "An untagged FROM means `latest`, with the same surprises.",
		Fix:       "Name an explicit version tag, and pin it by digest.",
	}, Check: checkUntagged},
}

// baseRef splits a FROM image into its tag and digest; stage references, scratch and
// unresolved variables are skipped (ok false).
func (c *checker) baseRef(s *Stage) (tag, digest string, ok bool) {
	b := s.Base
	if b == "" || strings.EqualFold(b, "scratch") || strings.Contains(b, "$") {
		return "", "", false
	}
	if p := c.d.StageByName(b); p != nil && p.Index < s.Index {
		return "", "", false
	}
	r, ok := imageref.Parse(b)
	if !ok {
		return "", "", false // not an image reference: BuildKit refuses it
	}
	return r.Tag, r.Digest, true
}

func checkDigest(c *checker) (hits []Hit) {
	for _, s := range c.d.Stages {
		if _, digest, ok := c.baseRef(s); ok && digest == "" {
			hits = append(hits, hit(s.From, "base image %s is not pinned by digest", s.Base))
		}
	}
	return hits
}

func checkLatest(c *checker) (hits []Hit) {
	for _, s := range c.d.Stages {
		if tag, digest, ok := c.baseRef(s); ok && tag == "latest" && digest == "" {
			hits = append(hits, hit(s.From, "base image %s uses the latest tag", s.Base))
		}
	}
	return hits
}

func checkUntagged(c *checker) (hits []Hit) {
	for _, s := range c.d.Stages {
		if tag, digest, ok := c.baseRef(s); ok && tag == "" && digest == "" {
			hits = append(hits, hit(s.From, "base image %s has no tag: it means latest", s.Base))
		}
	}
	return hits
}
