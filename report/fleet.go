package report

// Fleet is the summary of a registry scan: what was listed, each image's verdict, and
// what could not be listed or scanned. Shards of one scan are merged into one Fleet.
type Fleet struct {
	// Runs are the scans (or shards) the summary joins.
	Runs []FleetRun `json:"runs"`
	// Images are the images scanned, and the ones that could not be (Error set).
	Images []FleetImage `json:"images"`
	// Problems are repositories or tags that could not be listed or resolved.
	Problems []FleetProblem `json:"problems,omitempty"`
	// Recommendations are other tags of the bases in use, with their vulnerability
	// counts (registry scan --recommend).
	Recommendations []BaseRecommendation `json:"recommendations,omitempty"`
}

// Outcome is what the run decides: incomplete when anything could not be listed or
// scanned (fail closed), else a failure when an image fails on its findings.
func (f *Fleet) Outcome() Outcome {
	o := Passed
	if len(f.Problems) > 0 {
		return FailedIncomplete
	}
	for _, im := range f.Images {
		switch im.Status {
		case FleetError, FleetIncomplete:
			return FailedIncomplete
		case FleetFail:
			o = FailedOnFindings
		}
	}
	return o
}

// BaseRecommendation is one base image in use and the tags of its repository an image
// could move to.
type BaseRecommendation struct {
	// Base is the base reference in use (repository:tag), Counts its vulnerabilities by
	// severity, and UsedBy how many scanned images are built on it.
	Base   string         `json:"base"`
	Counts map[string]int `json:"counts"`
	UsedBy int            `json:"usedBy"`
	Error  string         `json:"error,omitempty"`
	// Candidates are the alternatives, fewest vulnerabilities first.
	Candidates []BaseCandidate `json:"candidates"`
}

// BaseCandidate is one alternative base tag.
type BaseCandidate struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest,omitempty"`
	// Relation is how it relates to the base: newer (minor or patch, same major), major
	// (the next major version), variant (the same version, another flavour: -slim,
	// -alpine).
	Relation string         `json:"relation"`
	Counts   map[string]int `json:"counts,omitempty"`
	// Total is the sum of Counts; Via says how it was checked: sbom (its attached SBOM)
	// or scan.
	Total int    `json:"total"`
	Via   string `json:"via,omitempty"`
	Error string `json:"error,omitempty"`
}

// FleetRun is one run of a registry scan: a shard, or the whole list.
type FleetRun struct {
	// Kind is "scan" (images read from the registry) or "rescan" (their stored SBOMs
	// matched again).
	Kind string `json:"kind"`
	// Shard is "i/n" ("1/1" unsharded).
	Shard string `json:"shard"`
	// Listed counts the images the listing found before sharding, and ListDigest is the
	// sha256 of their sorted digests: every shard of one scan has the same.
	Listed     int    `json:"listed"`
	ListDigest string `json:"listDigest"`
	// Images counts the images of this shard.
	Images int `json:"images"`
	// Targets are the arguments listed (registries, repositories).
	Targets []string `json:"targets"`
	// Threshold and FailOnIssues are the gate the images were decided by: a merge
	// decides each image again from its counts, never from a shard's word alone.
	Threshold    string `json:"threshold,omitempty"`
	FailOnIssues *bool  `json:"failOnIssues,omitempty"`
	// LayersRead and LayersCached count the layers read from the registry and the ones
	// taken from the layer cache; LayersRejected the cache entries that did not verify
	// (damaged, planted, or another key's): those layers were read again.
	LayersRead     int64 `json:"layersRead"`
	LayersCached   int64 `json:"layersCached"`
	LayersRejected int64 `json:"layersRejected,omitempty"`
}

// FleetImage is one image of a registry scan.
type FleetImage struct {
	// Reference is repository@digest.
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	// Names are the repository:tag names that point at the digest.
	Names []string `json:"names,omitempty"`
	// Status is pass, fail (findings at or above the threshold), incomplete (the scan did
	// not analyse everything) or error (it could not be scanned: Error says why).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Counts are the findings per severity; Gating the findings that fail the gate.
	Counts map[string]int `json:"counts,omitempty"`
	Gating int            `json:"gating"`
	// New counts the findings that were not there at the last rescan (every finding at
	// the first), NewGating those of them that fail the gate, and NewFindings names them.
	// Rescans only.
	New         int      `json:"new,omitempty"`
	NewGating   int      `json:"newGating,omitempty"`
	NewFindings []string `json:"newFindings,omitempty"`
	// Report is the image's JSON report, relative to the summary's folder.
	Report string `json:"report,omitempty"`
	// Base is the image's base image and whether it is due a rebuild, when known.
	Base *FleetBase `json:"base,omitempty"`
}

// FleetBase is what is known of an image's base image.
type FleetBase struct {
	// Name is the base reference (tag) and Digest the digest the image was built on.
	Name   string `json:"name"`
	Digest string `json:"digest,omitempty"`
	// Source says how it was found: annotation, history or argument.
	Source string `json:"source"`
	// Current is the digest the tag points at now; Rebuild says it moved on.
	Current string `json:"current,omitempty"`
	Rebuild bool   `json:"rebuild"`
	// Error says why the base could not be resolved.
	Error string `json:"error,omitempty"`
}

// FleetProblem is a repository or tag that could not be listed or resolved.
type FleetProblem struct {
	Subject string `json:"subject"`
	Error   string `json:"error"`
}

// Fleet image statuses.
const (
	FleetPass       = "pass"
	FleetFail       = "fail"
	FleetIncomplete = "incomplete"
	FleetError      = "error"
)

// FleetRebuild is one image due a rebuild: its base's tag has moved on (rebuild.json).
type FleetRebuild struct {
	Image   string   `json:"image"`
	Names   []string `json:"names"`
	Base    string   `json:"base"`
	BuiltOn string   `json:"builtOn"`
	Current string   `json:"current"`
}

// Rebuilds lists the images due a rebuild.
func (f *Fleet) Rebuilds() []FleetRebuild {
	out := []FleetRebuild{}
	for _, im := range f.Images {
		if im.Base != nil && im.Base.Rebuild {
			out = append(out, FleetRebuild{Image: im.Reference, Names: im.Names, Base: im.Base.Name, BuiltOn: im.Base.Digest, Current: im.Base.Current})
		}
	}
	return out
}
