package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ImageInfo says which image was scanned.
type ImageInfo struct {
	Name string `json:"name"`
	// Repository is the reference without tag and digest, as given (registry and daemon
	// images only).
	Repository  string    `json:"repository,omitempty"`
	Transport   Transport `json:"transport"`
	Digest      string    `json:"digest,omitempty"`
	IndexDigest string    `json:"indexDigest,omitempty"`
	ID          string    `json:"id"`
	Platform    string    `json:"platform,omitempty"`
	// PURL is the image's OCI package URL with its digest (pkg:oci/NAME@sha256%3A…), the
	// product VEX documents name it by.
	PURL string `json:"purl,omitempty"`
}

// Label is how reports name the image: transport:name.
func (i ImageInfo) Label() string { return string(i.Transport) + ":" + i.Name }

// Transport is the kind of place an image was read from: the prefix of an image argument
// (a registry reference has none).
type Transport string

// The transports, the one list of them.
const (
	TransportRegistry      Transport = "registry"
	TransportDockerArchive Transport = "docker-archive"
	TransportOCIArchive    Transport = "oci-archive"
	TransportOCIDir        Transport = "oci-dir"
	TransportDockerDaemon  Transport = "docker-daemon"
	// TransportSBOM: no image was read; its SBOM was.
	TransportSBOM Transport = "sbom"
)

// DataSource describes the vulnerability data a scan used.
type DataSource struct {
	Ecosystem string    `json:"ecosystem"`
	Records   int       `json:"records"`
	Source    string    `json:"source"`
	Updated   time.Time `json:"updated"`
}

// Result is what a scan found.
type Result struct {
	// Image, OS, Layers and Packages describe the image (absent when only a Dockerfile was
	// checked).
	Image    *ImageInfo `json:"image,omitempty"`
	OS       *OS        `json:"os,omitempty"`
	Layers   []Layer    `json:"layers,omitempty"`
	Packages []Package  `json:"packages,omitempty"`
	// Base says how the image's layers split into base and app, when that is known.
	Base *BaseInfo `json:"base,omitempty"`
	// Dockerfile is the Dockerfile that was checked.
	Dockerfile string    `json:"dockerfile,omitempty"`
	Findings   []Finding `json:"findings"`
	// Incomplete lists what the scan should have analysed and did not (a file over a size
	// limit, an unreadable package database, packages without vulnerability data, a
	// budget spent). A run with any fails the gate unless the policy allows it.
	Incomplete []string `json:"incomplete,omitempty"`
	Verdict    Verdict  `json:"verdict"`
	// Data lists the vulnerability data used, per ecosystem that was looked up.
	Data     []DataSource `json:"data,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
}

// BaseInfo is how the layers split: the first Layers layers are the base image's.
type BaseInfo struct {
	Layers int `json:"layers"`
	// Method is how the split was found: base-image (the base image was resolved), dockerfile
	// (the history matches the Dockerfile), history (a guess from the history alone).
	Method   string `json:"method"`
	Inferred bool   `json:"inferred,omitempty"`
}

// Package is one installed package.
type Package struct {
	// Ecosystem is the OSV ecosystem, with the release for distros ("Debian:12", "Alpine:v3.20").
	Ecosystem string `json:"ecosystem"`
	// Type is the purl type (deb, apk, rpm, ...).
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// SourceName and SourceVersion name the source package (dpkg Source:, apk origin, rpm
	// source rpm) when it differs from the binary package; OS advisories are per source.
	SourceName    string `json:"sourceName,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	Arch          string `json:"arch,omitempty"`
	PURL          string `json:"purl"`
	// Locations are the files the package was read from.
	Locations []string `json:"locations"`
	// Layer is the index of the layer that added the package (in this version).
	Layer int `json:"layer"`
	// OSOwned marks a language package whose files belong to an OS package: it is matched
	// through the OS package only.
	OSOwned bool `json:"osOwned,omitempty"`
	// Linked is what the Go binary the package was read from links, for reachability
	// (nil: not read from a Go binary this run; LinkedError says why a Go binary's tables
	// could not be read). Not in reports: findings carry what it decided.
	Linked      GoLinked `json:"-"`
	LinkedError string   `json:"-"`
}

// GoLinked is what a Go binary links (scanner/gofuncs reads it): packages and symbols
// from its function table and inline trees, and the platform it was built for.
type GoLinked interface {
	HasPackage(path string) bool
	Has(path, symbol string) bool
	Platform() (goos, goarch string)
}

// OS is the distribution the image is built on, from os-release.
type OS struct {
	ID         string `json:"id"`
	VersionID  string `json:"versionId,omitempty"`
	Codename   string `json:"codename,omitempty"`
	PrettyName string `json:"prettyName,omitempty"`
}

// Layer describes one layer of the image.
type Layer struct {
	Index     int       `json:"index"`
	Digest    string    `json:"digest,omitempty"`
	DiffID    string    `json:"diffId"`
	Size      int64     `json:"size,omitempty"`
	CreatedBy string    `json:"createdBy,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	Created   time.Time `json:"created,omitzero"`
	Files     int       `json:"files"`
}

// Verdict is the gate's decision.
type Verdict struct {
	// Pass is false when findings at or above the threshold exist and FailOnIssues is on.
	Pass bool `json:"pass"`
	// Threshold and FailOnIssues echo the policy.
	Threshold    Severity `json:"threshold"`
	FailOnIssues bool     `json:"failOnIssues"`
	// AtOrAboveThreshold counts the findings that meet the threshold, are not suppressed
	// and, against a baseline, are new: the findings that gate.
	AtOrAboveThreshold int `json:"atOrAboveThreshold"`
	// Suppressed counts findings accepted by an ignore entry or a VEX statement.
	Suppressed int `json:"suppressed"`
	// Counts are the findings per severity.
	Counts map[string]int `json:"counts"`
	// Incomplete counts what the scan did not analyse (Result.Incomplete); with any, Pass
	// is false unless AllowIncomplete.
	Incomplete      int  `json:"incomplete"`
	AllowIncomplete bool `json:"allowIncomplete,omitempty"`
	// UnknownSeverity is how findings of unknown severity (advisories that carry none) are
	// gated: "fail" (they count), "pass" (they never count) or a level they count as.
	// UnknownPassed is how many such findings it let through.
	UnknownSeverity string `json:"unknownSeverity"`
	UnknownPassed   int    `json:"unknownPassed"`
	// Checks are the checks that ran, named by the kind of finding each looks for: the
	// verdict covers these and no others. A kind not listed was not run, which reports say
	// ("not run"), never "none found".
	Checks []Kind `json:"checks"`
	// Baseline is the comparison with an earlier report, when one was given.
	Baseline *BaselineVerdict `json:"baseline,omitempty"`
	// NotReachable counts the findings set aside because the Go binary does not link
	// their vulnerable code (suppressed, kind "not-reachable"; within Suppressed).
	NotReachable int `json:"notReachable,omitempty"`
	// Borrowed counts the findings that gate on a severity borrowed from another advisory
	// (Finding.Borrowed).
	Borrowed int `json:"borrowed,omitempty"`
}

// BaselineVerdict is a scan compared with an earlier report: how many of its findings
// (at or above the threshold, not suppressed) are new, how many were there already (and
// so do not gate), and the earlier findings no longer found.
type BaselineVerdict struct {
	Source    string   `json:"source"`
	New       int      `json:"new"`
	Unchanged int      `json:"unchanged"`
	Fixed     int      `json:"fixed"`
	FixedIDs  []string `json:"fixedIds,omitempty"` // the first 100
}

// Ran reports whether the check for findings of kind k ran.
func (v Verdict) Ran(k Kind) bool { return slices.Contains(v.Checks, k) }

// NotRun reports whether reports show the check for kind k as "not run": it did not run,
// found nothing, and the result is of an image or an SBOM (a lint checks the Dockerfile
// alone and says nothing of the rest).
func (r *Result) NotRun(k Kind) bool {
	if r.Image == nil || r.Verdict.Ran(k) {
		return false
	}
	for _, f := range r.Findings {
		if f.Kind == k {
			return false
		}
	}
	return true
}

// Note says which checks the verdict covers, how findings of unknown severity were gated
// and how many it let through: every verdict line ends with it, so that neither a check
// left out nor a finding let through passes without a word.
func (v Verdict) Note() string {
	how := v.UnknownSeverity
	if how != "fail" && how != "pass" {
		how = "as " + strings.ToLower(how)
	}
	checks := make([]string, 0, len(v.Checks))
	for _, k := range Kinds {
		if v.Ran(k) {
			checks = append(checks, string(k))
		}
	}
	ran := "checks run: " + strings.Join(checks, ", ")
	if len(checks) == 0 {
		ran = "no checks run"
	}
	note := fmt.Sprintf("%s; unknown severity: %s, %d let through", ran, how, v.UnknownPassed)
	if v.Borrowed > 0 {
		note += fmt.Sprintf("; %d gate on a severity borrowed from another advisory", v.Borrowed)
	}
	if v.NotReachable > 0 {
		note += fmt.Sprintf("; %d not reachable in their Go binaries (set aside)", v.NotReachable)
	}
	if b := v.Baseline; b != nil {
		note += fmt.Sprintf("; against the baseline %s: %d new, %d already there (not gating), %d fixed", b.Source, b.New, b.Unchanged, b.Fixed)
	}
	return note
}

// Outcome is what a verdict decides, and the exit code that says it.
type Outcome int

const (
	// Passed: the gate passes (exit 0).
	Passed Outcome = iota
	// FailedOnFindings: findings meet the threshold (exit 1).
	FailedOnFindings
	// FailedIncomplete: the run did not analyse everything and the policy does not allow
	// that (exit 3): the gate fails closed.
	FailedIncomplete
)

// ExitCode is the outcome's documented exit code (failure.Exit*; a test keeps them equal).
func (o Outcome) ExitCode() int {
	switch o {
	case FailedOnFindings:
		return 1
	case FailedIncomplete:
		return 3
	}
	return 0
}

// Outcome is what the verdict decides.
func (v Verdict) Outcome() Outcome {
	switch {
	case v.Pass:
		return Passed
	case v.Incomplete > 0 && !v.AllowIncomplete:
		return FailedIncomplete
	}
	return FailedOnFindings
}

// DefaultVersion is the version of a build that was not stamped.
const DefaultVersion = "0.1.0-dev"

// Version is imagegate's version, set at build time with
// -ldflags "-X github.com/imagegate/imagegate/Version=1.2.3".
var Version = DefaultVersion
