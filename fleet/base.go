package fleet

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/attach"
	"github.com/imagegate/imagegate/scanner/policy"
)

// Annotations a build records about its base image (OCI image spec).
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// findBases says, for each target, what its base image is and whether the base's tag has
// moved on since the build: from the base annotations (resolved in the registry now), or
// else from the layers (another listed image whose layers this one starts with). One
// lookup per base name.
func findBases(ctx context.Context, targets, listed []Target, rm scanner.Remote) map[string]*report.FleetBase {
	out := map[string]*report.FleetBase{}
	type current struct{ digest, index, err string }
	resolved := map[string]current{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range targets {
		n := t.Annotations[AnnotationBaseName]
		if n == "" {
			continue
		}
		mu.Lock()
		if _, ok := resolved[n]; ok {
			mu.Unlock()
			continue
		}
		resolved[n] = current{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c current
			img, err := rm.Open(ctx, n)
			if err != nil {
				c.err = failure.OneLine(err.Error())
			} else {
				c.digest, c.index = img.Digest, img.IndexDigest
			}
			mu.Lock()
			resolved[n] = c
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, t := range targets {
		if n := t.Annotations[AnnotationBaseName]; n != "" {
			b := &report.FleetBase{Name: n, Digest: t.Annotations[AnnotationBaseDigest], Source: "annotation"}
			c := resolved[n]
			switch {
			case c.err != "":
				b.Error = c.err
			case b.Digest == "":
				b.Current = c.digest
			default:
				b.Current = c.digest
				// The annotation may name the base's index or its platform image.
				b.Rebuild = b.Digest != c.digest && b.Digest != c.index
			}
			out[t.Digest] = b
			continue
		}
		if base, ok := longestBase(t, listed); ok {
			b := &report.FleetBase{Name: base.Names[0], Digest: base.Digest, Current: base.Digest, Source: "layers"}
			out[t.Digest] = b
		}
	}
	return out
}

// longestBase is the listed image with the most layers that t's layers start with (and
// has fewer than t).
func longestBase(t Target, listed []Target) (Target, bool) {
	var best Target
	found := false
	for _, c := range listed {
		if c.Digest == t.Digest || len(c.DiffIDs) == 0 || len(c.DiffIDs) >= len(t.DiffIDs) || len(c.Names) == 0 {
			continue
		}
		prefix := true
		for i, d := range c.DiffIDs {
			if t.DiffIDs[i] != d {
				prefix = false
				break
			}
		}
		if prefix && (!found || len(c.DiffIDs) > len(best.DiffIDs)) {
			best, found = c, true
		}
	}
	return best, found
}

// version is a tag read as numbers and a flavour: "3.20" is [3 20] "", "11-slim" is [11]
// "-slim", "v1.2.3-alpine" is [1 2 3] "-alpine".
type version struct {
	nums   []int
	flavor string
}

func parseTag(tag string) (version, bool) {
	s := strings.TrimPrefix(tag, "v")
	numPart, flavor := s, ""
	if i := strings.IndexByte(s, '-'); i >= 0 {
		numPart, flavor = s[:i], s[i:]
	}
	var v version
	for _, p := range strings.Split(numPart, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return version{}, false
		}
		v.nums = append(v.nums, n)
	}
	v.flavor = flavor
	return v, len(v.nums) > 0
}

func (v version) compare(w version) int {
	for i := 0; i < max(len(v.nums), len(w.nums)); i++ {
		a, b := 0, 0
		if i < len(v.nums) {
			a = v.nums[i]
		}
		if i < len(w.nums) {
			b = w.nums[i]
		}
		if a != b {
			return a - b
		}
	}
	return 0
}

func (v version) sameNumbers(w version) bool {
	return len(v.nums) == len(w.nums) && v.compare(w) == 0
}

// candidateTags picks, among a repository's tags, the alternatives to base: the newest
// tag of the same major and flavour, the first tag of the next major, and the other
// flavours of the same version. Tags are compared at the base tag's precision (3.20
// against 3.21, not 3.21.1).
func candidateTags(base string, tags []string) map[string]string {
	bv, ok := parseTag(base)
	out := map[string]string{}
	if !ok {
		return out
	}
	var newest, nextMajor string
	var newestV, nextV version
	for _, t := range tags {
		v, ok := parseTag(t)
		if !ok || t == base {
			continue
		}
		if v.flavor != bv.flavor {
			if v.sameNumbers(bv) {
				out[t] = "variant"
			}
			continue
		}
		if len(v.nums) != len(bv.nums) {
			continue
		}
		switch {
		case v.nums[0] == bv.nums[0] && v.compare(bv) > 0:
			if newest == "" || v.compare(newestV) > 0 {
				newest, newestV = t, v
			}
		case v.nums[0] > bv.nums[0]:
			if nextMajor == "" || v.compare(nextV) < 0 {
				nextMajor, nextV = t, v
			}
		}
	}
	if newest != "" {
		out[newest] = "newer"
	}
	if nextMajor != "" {
		out[nextMajor] = "major"
	}
	return out
}

// recommend lists, for each base tag in use, the candidate tags of its repository, each
// checked with check (its vulnerability counts).
func recommend(ctx context.Context, images []report.FleetImage, rm scanner.Remote, check func(ref string) (report.BaseCandidate, error)) []report.BaseRecommendation {
	uses := map[string]int{}
	for _, im := range images {
		if im.Base != nil && im.Base.Error == "" {
			uses[im.Base.Name]++
		}
	}
	var names []string
	for n := range uses {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []report.BaseRecommendation
	for _, n := range names {
		rec := report.BaseRecommendation{Base: n, UsedBy: uses[n], Candidates: []report.BaseCandidate{}}
		tag, err := name.NewTag(n, rm.NameOptions(n)...)
		if err != nil {
			rec.Error = fmt.Sprintf("not a tag: %v", err)
			out = append(out, rec)
			continue
		}
		self, err := check(n)
		if err != nil {
			rec.Error = failure.OneLine(err.Error())
		}
		rec.Counts = self.Counts
		tags, err := remote.List(tag.Context(), rm.Options(ctx, tag.RegistryStr())...)
		if err != nil {
			rec.Error = "tags cannot be listed: " + failure.OneLine(err.Error())
			out = append(out, rec)
			continue
		}
		for t, rel := range candidateTags(tag.TagStr(), tags) {
			c, err := check(tag.Context().Tag(t).Name())
			c.Tag, c.Relation = t, rel
			if err != nil {
				c.Error = failure.OneLine(err.Error())
			}
			rec.Candidates = append(rec.Candidates, c)
		}
		sort.Slice(rec.Candidates, func(i, j int) bool {
			a, b := rec.Candidates[i], rec.Candidates[j]
			if (a.Error == "") != (b.Error == "") {
				return a.Error == ""
			}
			if a.Total != b.Total {
				return a.Total < b.Total
			}
			return a.Tag < b.Tag
		})
		out = append(out, rec)
	}
	return out
}

// checkBase counts a base tag's vulnerabilities: from its attached SBOM when it has one,
// else by scanning it (through the layer cache).
func checkBase(ctx context.Context, ref string, opts Options) (report.BaseCandidate, error) {
	var c report.BaseCandidate
	rm := opts.remote()
	img, err := rm.Open(ctx, ref)
	if err != nil {
		return c, err
	}
	c.Digest = img.Digest
	r, err := name.ParseReference(ref, rm.NameOptions(ref)...)
	if err != nil {
		return c, err
	}
	pinned := r.Context().Name() + "@" + img.Digest
	o := opts.Request.FromRegistry()
	pol := policy.Default
	if o.Policy != nil {
		pol = *o.Policy
	}
	pol.ReportAll = true
	o.Policy = &pol
	o.Checks = []string{scanner.ScannerVuln}
	o.Image = pinned
	c.Via = "scan"
	if found, err := attach.Find(ctx, pinned, rm.ImageOptions()...); err == nil {
		tmp, err := os.CreateTemp("", "imagegate-base-*.cdx.json")
		if err != nil {
			return c, err
		}
		defer os.Remove(tmp.Name())
		_, err = tmp.Write(found.SBOM)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return c, err
		}
		o.Image, o.SBOM, c.Via = "", tmp.Name(), "sbom"
	}
	res, err := scanner.New(opts.Scanner...).Scan(ctx, o)
	if err != nil {
		return c, err
	}
	if len(res.Incomplete) > 0 {
		return c, fmt.Errorf("not analysed: %s", res.Incomplete[0])
	}
	c.Counts = map[string]int{}
	for _, f := range res.Findings {
		if f.Kind == report.KindVulnerability && f.Suppressed == nil {
			c.Counts[f.Severity.String()]++
			c.Total++
		}
	}
	return c, nil
}
