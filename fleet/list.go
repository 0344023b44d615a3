// Package fleet scans a registry's worth of images: it lists repositories and tags,
// filters them, resolves each to its image digest (each digest scanned once), splits the
// list into shards that CI engines run in parallel, scans each image with the scanner
// core (layers shared between images read once, through the layer cache) and joins
// the results, and the shards' results, into one summary.
package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner"
)

// Target is one image to scan: a platform image's manifest digest, with every
// repository:tag that names it.
type Target struct {
	// Repository is the first repository (in sort order) that holds the digest.
	Repository string
	Digest     string
	Names      []string
	Created    time.Time
	// Annotations are the image manifest's (the base image's name and digest among them).
	Annotations map[string]string
	// DiffIDs are the image's layers, bottom first: an image whose layers start with
	// another's is built on it.
	DiffIDs []string
}

// Ref is the reference the image is scanned by.
func (t Target) Ref() string { return t.Repository + "@" + t.Digest }

// Filter chooses tags.
type Filter struct {
	// Tags are shell patterns (path.Match) a tag must match one of; empty: every tag.
	Tags []string
	// Since keeps images created at or after it (the config's created time: the
	// registry API has no push time).
	Since time.Time
	// Newest keeps the N most recently created images of each repository (0: all).
	Newest int
}

// Listing is what List found.
type Listing struct {
	Targets  []Target
	Problems []report.FleetProblem
}

// Digest is the sha256 of the listing's sorted image digests: the shards of one scan
// share it, which is how merge knows they listed the same images.
func (l *Listing) Digest() string {
	ds := make([]string, len(l.Targets))
	for i, t := range l.Targets {
		ds[i] = t.Digest
	}
	sort.Strings(ds)
	sum := sha256.Sum256([]byte(strings.Join(ds, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ListOptions say how to reach the registry.
type ListOptions struct {
	// Remote is the way to the registries (credentials, plain HTTP, platform).
	Remote scanner.Remote
	// Parallel bounds the manifests fetched at once (0: 8).
	Parallel int
}

// TargetRegistries are the registries (host[:port]) of targets as List reads them: the
// registries the user named, which the explicit credentials are for. Files (a rescan's
// SBOMs) and targets that are not references name none.
func TargetRegistries(targets []string) []string {
	var out []string
	for _, t := range targets {
		if _, err := os.Stat(t); err == nil {
			continue
		}
		t = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(t, "https://"), "http://"), "/")
		if !strings.Contains(t, "/") {
			if reg, err := name.NewRegistry(t, name.Insecure); err == nil {
				out = append(out, reg.RegistryStr())
			}
		} else if r, err := name.NewRepository(t, name.Insecure); err == nil {
			out = append(out, r.RegistryStr())
		}
	}
	return out
}

// List lists the images of targets: a registry (host[:port], every repository its
// catalog names) or a repository (host[:port]/path). A repository that cannot be listed,
// or a tag that cannot be resolved, is a problem in the listing, not an error: the
// others are still listed. Bad arguments and a registry whose catalog cannot be read are
// errors.
func List(ctx context.Context, targets []string, f Filter, o ListOptions) (*Listing, error) {
	if len(targets) == 0 {
		return nil, failure.Inputf("give a registry (host[:port]) or repositories (host[:port]/name) to scan")
	}
	for _, p := range f.Tags {
		if _, err := path.Match(p, ""); err != nil {
			return nil, failure.WithSetting(failure.Inputf("tag pattern %q: %w", p, err), "tag")
		}
	}
	var repos []name.Repository
	for _, t := range targets {
		t = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(t, "https://"), "http://"), "/")
		if !strings.Contains(t, "/") {
			reg, err := name.NewRegistry(t, o.Remote.NameOptions(t)...)
			if err != nil {
				return nil, failure.Inputf("registry %q: %w", t, err)
			}
			names, err := remote.Catalog(ctx, reg, o.Remote.Options(ctx, reg.RegistryStr())...)
			if err != nil {
				return nil, failure.Incompletef("registry %s: its catalog cannot be listed (%w): name the repositories to scan instead", t, err)
			}
			for _, n := range names {
				r, err := name.NewRepository(reg.RegistryStr()+"/"+n, o.Remote.NameOptions(t)...)
				if err == nil {
					repos = append(repos, r)
				}
			}
			continue
		}
		r, err := name.NewRepository(t, o.Remote.NameOptions(t)...)
		if err != nil {
			return nil, failure.Inputf("repository %q: %w (a tag or digest does not belong here: give the repository)", t, err)
		}
		repos = append(repos, r)
	}
	l := &Listing{}
	byDigest := map[string]*Target{}
	for _, r := range repos {
		imgs, problems := listRepository(ctx, r, f, o)
		l.Problems = append(l.Problems, problems...)
		for _, t := range imgs {
			if seen, ok := byDigest[t.Digest]; ok {
				seen.Names = append(seen.Names, t.Names...)
				continue
			}
			t := t
			byDigest[t.Digest] = &t
		}
	}
	for _, t := range byDigest {
		sort.Strings(t.Names)
		l.Targets = append(l.Targets, *t)
	}
	sort.Slice(l.Targets, func(i, j int) bool { return l.Targets[i].Digest < l.Targets[j].Digest })
	sort.Slice(l.Problems, func(i, j int) bool { return l.Problems[i].Subject < l.Problems[j].Subject })
	return l, nil
}

// listRepository resolves the repository's tags that pass the filter.
func listRepository(ctx context.Context, r name.Repository, f Filter, o ListOptions) ([]Target, []report.FleetProblem) {
	tags, err := remote.List(r, o.Remote.Options(ctx, r.RegistryStr())...)
	if err != nil {
		return nil, []report.FleetProblem{{Subject: r.Name(), Error: "tags cannot be listed: " + failure.OneLine(err.Error())}}
	}
	var keep []string
	for _, t := range tags {
		if !artifactTag.MatchString(t) && matchesAny(f.Tags, t) {
			keep = append(keep, t)
		}
	}
	parallel := o.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	type resolved struct {
		t   Target
		err error
	}
	out := make([]resolved, len(keep))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, tag := range keep {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i].t, out[i].err = resolveTag(ctx, r, tag, o)
		}()
	}
	wg.Wait()
	var imgs []Target
	var problems []report.FleetProblem
	for i, res := range out {
		if res.err != nil {
			problems = append(problems, report.FleetProblem{Subject: r.Tag(keep[i]).Name(), Error: failure.OneLine(res.err.Error())})
			continue
		}
		if !f.Since.IsZero() && res.t.Created.Before(f.Since) {
			continue
		}
		imgs = append(imgs, res.t)
	}
	return newest(imgs, f.Newest), problems
}

// resolveTag is the image a tag names now: its digest, creation time, layers and
// annotations.
func resolveTag(ctx context.Context, r name.Repository, tag string, o ListOptions) (Target, error) {
	ref := r.Tag(tag).Name()
	img, err := o.Remote.Open(ctx, ref)
	if err != nil {
		return Target{}, err
	}
	t := Target{Repository: r.Name(), Digest: img.Digest, Names: []string{ref}}
	if cf, err := img.ConfigFile(); err == nil {
		t.Created = cf.Created.Time
		for _, d := range cf.RootFS.DiffIDs {
			t.DiffIDs = append(t.DiffIDs, d.String())
		}
	}
	if m, err := img.Manifest(); err == nil {
		t.Annotations = m.Annotations
	}
	return t, nil
}

// newest joins the tags of one image into one target and keeps the n most recently
// created (all, for n 0): one image under several tags counts once.
func newest(imgs []Target, n int) []Target {
	byDigest := map[string]int{}
	var uniq []Target
	for _, t := range imgs {
		if j, ok := byDigest[t.Digest]; ok {
			uniq[j].Names = append(uniq[j].Names, t.Names...)
			continue
		}
		byDigest[t.Digest] = len(uniq)
		uniq = append(uniq, t)
	}
	if n > 0 && len(uniq) > n {
		sort.SliceStable(uniq, func(i, j int) bool {
			if !uniq[i].Created.Equal(uniq[j].Created) {
				return uniq[i].Created.After(uniq[j].Created)
			}
			return uniq[i].Digest < uniq[j].Digest
		})
		uniq = uniq[:n]
	}
	return uniq
}

// artifactTag matches the tags that hold artifacts about an image, not images: the OCI
// referrers tag schema (sha256-<hex>) and cosign's signatures, attestations and SBOMs.
var artifactTag = regexp.MustCompile(`^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$`)

func matchesAny(patterns []string, tag string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, tag); ok {
			return true
		}
	}
	return false
}

// Shard is one of Count parts of a listing: Index from 1 to Count.
type Shard struct{ Index, Count int }

// ParseShard reads "i/n" (1 ≤ i ≤ n), as Playwright, Jest and Azure Pipelines'
// System.JobPositionInPhase count; "" is the whole listing. "auto" takes the shard from
// the engine running it, through getenv: a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX, from 0, with IMAGEGATE_SHARDS set to the completions) or Azure
// Pipelines parallel jobs (SYSTEM_JOBPOSITIONINPHASE of SYSTEM_TOTALJOBSINPHASE).
func ParseShard(s string, getenv func(string) string) (Shard, error) {
	if s == "" {
		return Shard{1, 1}, nil
	}
	if s == "auto" {
		if idx, n := getenv("JOB_COMPLETION_INDEX"), getenv("IMAGEGATE_SHARDS"); idx != "" && n != "" {
			i, err := strconv.Atoi(idx)
			if err != nil {
				return Shard{}, failure.Inputf("shard auto: JOB_COMPLETION_INDEX %q is not a number", idx)
			}
			return ParseShard(fmt.Sprintf("%d/%s", i+1, n), getenv)
		}
		if pos, n := getenv("SYSTEM_JOBPOSITIONINPHASE"), getenv("SYSTEM_TOTALJOBSINPHASE"); pos != "" && n != "" {
			return ParseShard(pos+"/"+n, getenv)
		}
		return Shard{}, failure.WithSetting(failure.Inputf("shard auto: neither a Kubernetes Indexed Job (JOB_COMPLETION_INDEX and IMAGEGATE_SHARDS) nor Azure Pipelines parallel jobs (SYSTEM_JOBPOSITIONINPHASE, SYSTEM_TOTALJOBSINPHASE): give i/n"), "shard")
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, failure.WithSetting(failure.Inputf("shard %q: want i/n with 1 ≤ i ≤ n, e.g. 2/4, or auto", s), "shard")
	}
	return Shard{i, n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Of returns the shard's part of targets: an image belongs to the shard its digest
// falls in (its first 64 bits modulo Count), so the split is the same on every machine
// and the shards' union is the whole listing.
func (s Shard) Of(targets []Target) []Target {
	var out []Target
	for _, t := range targets {
		if s.owns(t.Digest) {
			out = append(out, t)
		}
	}
	return out
}

func (s Shard) owns(digest string) bool {
	hexPart := strings.TrimPrefix(digest, "sha256:")
	var v uint64
	for i := 0; i < 16 && i < len(hexPart); i++ {
		c := hexPart[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		}
		v = v<<4 | uint64(d)
	}
	return int(v%uint64(s.Count)) == s.Index-1
}

// fileDigest names an SBOM file's content, for its report and state.
func fileDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
