package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/imagegate/imagegate/cyclonedx"
	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/attach"
	"github.com/imagegate/imagegate/scanner/userfile"
	"github.com/imagegate/imagegate/trust"
)

// Rescan re-checks stored SBOMs against the current vulnerability data and says what is
// new since the last rescan: the nightly job that stands for `snyk monitor` and a
// registry's weekly re-scan, without pulling a layer.
type Rescan struct {
	// Targets are registries and repositories (each image's attached SBOM is read) and
	// SBOM files.
	Targets []string
	Filter  Filter
	Options
	// State is the file that remembers each image's findings between rescans.
	State string
	// Now stamps the state (zero: the time of the run).
	Now time.Time
	// Verifier checks the SBOMs attached in the registry: only a signed attestation it
	// verifies, about the image, is believed (anyone who can push can attach an SBOM).
	// Without one, AllowUnsigned reads the newest unsigned SBOM instead (the explicit,
	// warned opt-out); SBOM files named on the command line are the user's own.
	Verifier      attach.Verifier
	AllowUnsigned bool
}

// State is what a rescan remembers: each image's finding fingerprints.
type State struct {
	Version int                   `json:"version"`
	Images  map[string]StateImage `json:"images"`
}

// StateImage is one image's last rescan.
type StateImage struct {
	Checked  time.Time `json:"checked"`
	Findings []string  `json:"findings"`
}

const stateVersion = 1

type sbomItem struct {
	target Target // Repository and Digest for a registry image; Repository is the path for a file
	sbom   []byte
	err    error
	file   bool
}

// stateKey names an image in the state: repository@digest, or the SBOM file's path (the
// same file is the same image at its next build).
func (it sbomItem) stateKey() string {
	if it.file {
		return "file:" + it.target.Repository
	}
	return it.target.Ref()
}

// Do reads the SBOMs, matches each, compares with the state, writes the summary into
// Dir and the new state. An image without an attached SBOM, or whose SBOM cannot be read,
// is an error in the summary (exit 3): it was not re-checked.
func (r Rescan) Do(ctx context.Context) (*report.Fleet, error) {
	if r.State == "" {
		return nil, failure.Inputf("rescan needs a state file, to tell what is new")
	}
	prev, err := readState(r.State)
	if err != nil {
		return nil, err
	}
	items, problems, err := r.collect(ctx)
	if err != nil {
		return nil, err
	}
	opts := r.Options
	opts.Request.Checks = []string{scanner.ScannerVuln}
	closeStore, err := opts.openStore(ctx)
	if err != nil {
		return nil, err
	}
	if closeStore != nil {
		defer closeStore()
	}
	tmp, err := os.MkdirTemp("", "imagegate-rescan-")
	if err != nil {
		return nil, failure.Incomplete(err)
	}
	defer os.RemoveAll(tmp)
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	next := State{Version: stateVersion, Images: map[string]StateImage{}}
	for k, v := range prev.Images {
		next.Images[k] = v // images not re-checked this time keep their last state
	}
	var scanned []Scanned
	for i, it := range items {
		if it.err != nil {
			scanned = append(scanned, failed(it.target, it.err))
			continue
		}
		s, err := r.recheck(ctx, it, filepath.Join(tmp, fmt.Sprintf("%d.cdx.json", i)), opts, prev, &next, now)
		if err != nil {
			return nil, err
		}
		scanned = append(scanned, s)
	}
	digests := make([]Target, len(items))
	for i, it := range items {
		digests[i] = it.target
	}
	l := Listing{Targets: digests}
	run := report.FleetRun{Kind: "rescan", Shard: "1/1", Listed: len(items), ListDigest: l.Digest(), Images: len(items), Targets: r.Targets}
	gateOf(&run, r.Request.Policy)
	f := Summarize(run, problems, scanned)
	runs := SARIFRuns(scanned)
	if err := finished(ctx); err != nil {
		return nil, err // the state is left as it was
	}
	if opts.Dir != "" {
		if err := WriteSummary(opts.Dir, f, runs); err != nil {
			return nil, err
		}
	}
	if err := output.WriteFile(r.State, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(next)
	}); err != nil {
		return nil, err
	}
	return f, nil
}

// recheck matches one image's SBOM against the data (through the file at path), marks
// its findings new or known against prev, and records its state in next; a check that did
// not complete leaves the image's state as it was. An error is one that ends the run.
func (r Rescan) recheck(ctx context.Context, it sbomItem, path string, opts Options, prev, next *State, now time.Time) (Scanned, error) {
	if err := os.WriteFile(path, it.sbom, 0o600); err != nil {
		return Scanned{}, failure.Incomplete(err)
	}
	req := opts.Request
	req.Image, req.SBOM = "", path
	res, err := scanner.New(opts.Scanner...).Scan(ctx, req)
	if err != nil {
		return failed(it.target, err), nil
	}
	s := Scanned{Target: it.target, Result: res, Summary: summarize(it.target, res)}
	if s.SARIF, err = SARIFRun(it.target, res); err != nil {
		return Scanned{}, failure.Incompletef("writing the report: %w", err)
	}
	key := it.stateKey()
	old, seen := prev.Images[key]
	fps := markNew(&s.Summary, res, old, seen)
	if s.Summary.Status != report.FleetIncomplete {
		next.Images[key] = StateImage{Checked: now.UTC(), Findings: fps}
	}
	if opts.Dir != "" {
		rel := filepath.ToSlash(filepath.Join("images", FileName(it.target)+".json"))
		if err := writeJSON(filepath.Join(opts.Dir, rel), res); err != nil {
			return Scanned{}, failure.Incompletef("writing the report: %w", err)
		}
		s.Summary.Report = rel
	}
	return s, nil
}

// markNew counts the findings of res not known at the last rescan (old, when seen) and
// gates on those only: findings known then were reported then. It returns the sorted
// fingerprints to keep as the image's state.
func markNew(sum *report.FleetImage, res *report.Result, old StateImage, seen bool) []string {
	known := map[string]bool{}
	for _, fp := range old.Findings {
		known[fp] = true
	}
	var fps []string
	for _, f := range res.Findings {
		fps = append(fps, f.Fingerprint)
		if seen && known[f.Fingerprint] {
			continue
		}
		sum.New++
		if f.Suppressed == nil && !f.BelowThreshold {
			sum.NewGating++
		}
		sum.NewFindings = append(sum.NewFindings, describe(f))
	}
	sort.Strings(fps)
	if sum.Status == report.FleetFail && (sum.NewGating == 0 || !res.Verdict.FailOnIssues) {
		sum.Status = report.FleetPass
	}
	return fps
}

func describe(f report.Finding) string {
	s := f.ID
	if f.Package != nil {
		s += " in " + f.Package.Name + " " + f.Package.Version
	}
	return s + " (" + f.Severity.String() + ")"
}

// collect reads the SBOM files and the attached SBOMs of the registry images.
func (r Rescan) collect(ctx context.Context) ([]sbomItem, []report.FleetProblem, error) {
	var items []sbomItem
	var remoteTargets []string
	for _, t := range r.Targets {
		if st, err := os.Stat(t); err == nil && st.Mode().IsRegular() {
			b, err := userfile.Read(t, "sbom", cyclonedx.MaxSize)
			if err != nil {
				return nil, nil, err
			}
			items = append(items, sbomItem{target: Target{Repository: t, Digest: fileDigest(b)}, sbom: b, file: true})
			continue
		}
		remoteTargets = append(remoteTargets, t)
	}
	var problems []report.FleetProblem
	if len(remoteTargets) > 0 && r.Verifier == nil && !r.AllowUnsigned {
		return nil, nil, failure.WithSetting(failure.Inputf("rescan believes only signed SBOMs from a registry: give the key (--verify-key) or the identity (--certificate-identity, --certificate-oidc-issuer, --trusted-root) they are signed with, or --insecure-unsigned-sbom to read unsigned ones"), "verify-key")
	}
	if len(remoteTargets) > 0 {
		l, err := List(ctx, remoteTargets, r.Filter, ListOptions{Remote: r.remote()})
		if err != nil {
			return nil, nil, err
		}
		problems = l.Problems
		for _, t := range l.Targets {
			it := sbomItem{target: t}
			var found *attach.Found
			var err error
			if r.Verifier != nil {
				found, err = attach.FindVerified(ctx, t.Ref(), trust.CycloneDXPredicate, r.Verifier, r.remote().ImageOptions()...)
			} else {
				found, err = attach.Find(ctx, t.Ref(), r.remote().ImageOptions()...)
			}
			switch {
			case errors.Is(err, attach.ErrNone):
				it.err = failure.Incompletef("no SBOM attached: not re-checked (attach one with 'imagegate sbom %s --attach --sign')", t.Ref())
			case errors.Is(err, attach.ErrUnverified):
				it.err = failure.Incompletef("not checked: %v", err)
			case err != nil:
				it.err = err
			default:
				it.sbom = found.SBOM
			}
			items = append(items, it)
		}
	}
	return items, problems, nil
}

// MaxStateSize bounds the rescan state read back (a restored cache is input: a link to
// /dev/zero or a huge file is refused).
const MaxStateSize = 256 << 20

func readState(path string) (*State, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return &State{Version: stateVersion, Images: map[string]StateImage{}}, nil
	}
	b, err := userfile.Read(path, "state", MaxStateSize)
	if err != nil {
		return nil, failure.WithSetting(err, "state")
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil || s.Version != stateVersion || s.Images == nil {
		return nil, failure.WithSetting(failure.Inputf("state %s: not a rescan state of version %d (delete it to start afresh: every finding is then new)", path, stateVersion), "state")
	}
	return &s, nil
}
