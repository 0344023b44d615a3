// Package inputs is the one table of settings that the CLI flags, the GitHub Action
// (action.yml) and the Azure DevOps task (task.json) share, and the parser that turns a
// front end's raw values into scanner options. A test fails when the three drift apart.
package inputs

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/config"
	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/finding"
	"github.com/imagegate/imagegate/scanner/policy"
)

// Kind says how a value is read.
type Kind string

// Kinds.
const (
	String   Kind = "string"
	Bool     Kind = "boolean"
	Severity Kind = "severity"
	Duration Kind = "duration"
	Secret   Kind = "secret"
)

// Input is one setting.
type Input struct {
	// Name is the canonical, kebab-case name: the GitHub Action input.
	Name string
	// Azure is the task.json input name (Snyk-compatible where Snyk has one); "" when the
	// task does not take it.
	Azure string
	// Flag is the CLI flag ("" when the CLI has none: CI-only settings, or the IMAGE
	// argument).
	Flag        string
	Description string
	Default     string
	Required    bool
	Kind        Kind
	// GitHubOnly settings are not in task.json; AzureOnly ones not in action.yml.
	GitHubOnly, AzureOnly bool
}

// Table is every setting, in the order the front ends document them.
var Table = []Input{
	{Name: "image", Azure: "dockerImageName", Description: "Image to scan: a registry reference (ghcr.io/org/app:1.2), docker-archive:PATH, oci-archive:PATH, oci-dir:PATH or docker-daemon:NAME.", Required: true, Kind: String},
	{Name: "dockerfile", Azure: "dockerfilePath", Flag: "dockerfile", Description: "Dockerfile of the image: its rules are checked and findings are mapped to its lines.", Kind: String},
	{Name: "severity-threshold", Azure: "severityThreshold", Flag: "severity-threshold", Description: "Lowest severity that fails the gate: low, medium, high or critical.", Default: "low", Kind: Severity},
	{Name: "fail-on-issues", Azure: "failOnIssues", Flag: "fail-on-issues", Description: "Fail the step when findings meet the threshold.", Default: "true", Kind: Bool},
	{Name: "exclude-base", Azure: "excludeBase", Flag: "exclude-base", Description: "Leave out findings that come from the base image's layers.", Default: "false", Kind: Bool},
	{Name: "ignore-unfixed", Azure: "ignoreUnfixed", Flag: "ignore-unfixed", Description: "Leave out vulnerabilities that have no fixed version yet.", Default: "false", Kind: Bool},
	{Name: "ignore-file", Azure: "ignoreFile", Flag: "config", Description: "Policy file with ignore entries and rule settings (default: .imagegate.yaml in the working folder, if any).", Kind: String},
	{Name: "vex", Azure: "vexFile", Flag: "vex", Description: "OpenVEX document whose not_affected and fixed statements suppress findings.", Kind: String},
	{Name: "platform", Azure: "platform", Flag: "platform", Description: "Platform to pick from a multi-platform image, os/arch[/variant] (default linux/amd64).", Kind: String},
	{Name: "sarif-file", Azure: "sarifFile", Description: "Where to write the SARIF report.", Default: "imagegate.sarif", Kind: String},
	{Name: "format", Azure: "format", Flag: "format", Description: "Report printed to the log: table, json, sarif, markdown, junit or cyclonedx.", Default: "table", Kind: String},
	{Name: "db-path", Azure: "dbPath", Flag: "db", Description: "Vulnerability database folder (from imagegate db update or a cache), or a folder of OSV all.zip files.", Kind: String},
	{Name: "db-max-age", Azure: "dbMaxAge", Flag: "db-max-age", Description: "Warn when the vulnerability data is older than this.", Default: "168h0m0s", Kind: Duration},
	{Name: "registry-username", Azure: "registryUsername", Flag: "username", Description: "Registry user name (default: the Docker credentials on the runner).", Kind: String},
	{Name: "registry-password", Azure: "registryPassword", Flag: "password", Description: "Registry password or token.", Kind: Secret},
	{Name: "summary", Azure: "summary", Description: "Write the Markdown summary to the job (GitHub) or build (Azure DevOps) summary.", Default: "true", Kind: Bool},
	{Name: "annotations", Azure: "annotations", Description: "Annotate the most severe findings on their Dockerfile lines.", Default: "true", Kind: Bool},
	{Name: "monitor-when", Azure: "monitorWhen", Description: "When to publish the SBOM as a build artifact for later re-scans: always, noIssuesFound or never.", Default: "always", Kind: String, AzureOnly: true},
	{Name: "pr-comment", Azure: "prComment", Description: "Comment the summary on the pull request.", Default: "true", Kind: Bool, AzureOnly: true},
	{Name: "additional-arguments", Azure: "additionalArguments", Description: "More imagegate scan flags, as on the command line.", Kind: String, AzureOnly: true},
}

// ByName finds an input by canonical name.
func ByName(name string) (Input, bool) {
	for _, in := range Table {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

// Settings is what a CI front end runs: the scan and how to report it.
type Settings struct {
	Scan        scanner.Options
	SARIFFile   string
	Format      string
	Summary     bool
	Annotations bool
	MonitorWhen string
	PRComment   bool
	// Secrets are values to mask in logs.
	Secrets []string
}

// Parse reads raw values (canonical name -> text, as the CI gave them; empty means unset)
// into Settings. Every error names the input and is an input error.
func Parse(get func(name string) string) (*Settings, error) {
	v := func(name string) string {
		in, _ := ByName(name)
		if s := strings.TrimSpace(get(name)); s != "" {
			return s
		}
		return in.Default
	}
	b := func(name string) (bool, error) {
		s := v(name)
		x, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return false, failure.Inputf("input %s: %q is not a boolean (true or false)", name, s)
		}
		return x, nil
	}
	st := &Settings{}
	img := v("image")
	if img == "" {
		return nil, failure.Inputf("input image is required: name the image to scan")
	}
	sev, err := finding.ParseSeverity(v("severity-threshold"))
	if err != nil || sev == finding.Unknown {
		return nil, failure.Inputf("input severity-threshold: %q is not one of low, medium, high, critical", v("severity-threshold"))
	}
	var failOn, excludeBase, unfixed bool
	for name, dst := range map[string]*bool{"fail-on-issues": &failOn, "exclude-base": &excludeBase, "ignore-unfixed": &unfixed, "summary": &st.Summary, "annotations": &st.Annotations, "pr-comment": &st.PRComment} {
		x, err := b(name)
		if err != nil {
			return nil, err
		}
		*dst = x
	}
	maxAge, err := time.ParseDuration(v("db-max-age"))
	if err != nil {
		return nil, failure.Inputf("input db-max-age: %q is not a duration like 168h", v("db-max-age"))
	}
	st.Format = v("format")
	if err := output.CheckFormat(st.Format); err != nil {
		return nil, failure.Inputf("input format: %v", err)
	}
	switch st.MonitorWhen = v("monitor-when"); st.MonitorWhen {
	case "always", "noIssuesFound", "never":
	default:
		return nil, failure.Inputf("input monitor-when: %q is not one of always, noIssuesFound, never", st.MonitorWhen)
	}
	st.SARIFFile = v("sarif-file")
	cfg, err := config.Load(v("ignore-file"))
	if err != nil {
		return nil, err
	}
	p := &policy.Policy{Threshold: sev, FailOnIssues: failOn}
	if vex := v("vex"); vex != "" {
		doc, err := policy.LoadVEX(vex)
		if err != nil {
			return nil, err
		}
		p.VEX = append(p.VEX, doc)
	}
	st.Scan = scanner.Options{
		Image:         img,
		Platform:      v("platform"),
		Username:      v("registry-username"),
		Password:      v("registry-password"),
		DB:            v("db-path"),
		DBMaxAge:      maxAge,
		IgnoreUnfixed: unfixed,
		ExcludeBase:   excludeBase,
		Dockerfile:    v("dockerfile"),
		Config:        cfg,
		Policy:        p,
	}
	if pw := v("registry-password"); pw != "" {
		st.Secrets = append(st.Secrets, pw)
	}
	return st, nil
}

// RelativeTo makes a finding's file path relative to the checkout the CI system shows
// files from (GITHUB_WORKSPACE, BUILD_SOURCESDIRECTORY; "" is the working folder), with
// forward slashes; a path outside it is kept as given.
func RelativeTo(p, checkout string) string {
	if checkout == "" {
		checkout = "."
	}
	root, err1 := filepath.Abs(checkout)
	abs, err2 := filepath.Abs(p)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(root, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(p)
}
