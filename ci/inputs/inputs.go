// Package inputs is the one table of settings that the CLI flags, the GitHub Action
// (action.yml) and the Azure DevOps task (task.json) share, and the parser that turns a
// front end's raw values into scanner options. A test fails when the three drift apart.
package inputs

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"mvdan.cc/sh/v3/shell"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/flags"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/vulndb"
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
	// Path is a file or folder; the Azure agent gives an empty filePath input as the
	// sources folder, which then means "not given".
	Path Kind = "path"
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
	{Name: "image", Azure: "dockerImageName", Description: "Image to scan: a name (app:ci, read from the runner's Docker daemon when it has it, else pulled), a registry reference (ghcr.io/org/app:1.2), docker-archive:PATH, oci-archive:PATH, oci-dir:PATH or docker-daemon:NAME. Several images, one per line or comma-separated, are scanned in one step: one verdict, a SARIF run and a summary section per image, a JSON report per image, the outputs summed.", Required: true, Kind: String},
	{Name: "dockerfile", Azure: "dockerfilePath", Flag: "dockerfile", Description: "Dockerfile of the image: its rules are checked and findings are mapped to its lines.", Kind: String},
	{Name: "severity-threshold", Azure: "severityThreshold", Flag: "severity-threshold", Description: "Lowest severity that fails the gate: low, medium, high or critical.", Default: "low", Kind: Severity},
	{Name: "unknown-severity", Azure: "unknownSeverity", Flag: "unknown-severity", Description: "How findings of unknown severity (advisories that carry none) are gated: fail (they count whatever the threshold), pass, or a level they count as (low, medium, high, critical). The verdict says which, and how many it let through.", Default: "fail", Kind: String},
	{Name: "fail-on-issues", Azure: "failOnIssues", Flag: "fail-on-issues", Description: "Fail the step when findings meet the threshold.", Default: "true", Kind: Bool},
	{Name: "exclude-base", Azure: "excludeBase", Flag: "exclude-base", Description: "Leave out findings that come from the base image's layers.", Default: "false", Kind: Bool},
	{Name: "ignore-unfixed", Azure: "ignoreUnfixed", Flag: "ignore-unfixed", Description: "Leave out vulnerabilities that have no fixed version yet.", Default: "false", Kind: Bool},
	{Name: "allow-incomplete", Azure: "allowIncomplete", Flag: "allow-incomplete", Description: "Let a scan that could not analyse everything (a file over a size limit, an unreadable package database, packages without vulnerability data) pass on its findings; by default the step fails (exit 3) and the reports list what was not analysed.", Default: "false", Kind: Bool},
	{Name: "ignore-file", Azure: "ignoreFile", Flag: "config", Description: "Policy file with ignore entries and rule settings (default: .imagegate.yaml in the working folder, if any).", Kind: Path},
	{Name: "vex", Azure: "vexFile", Flag: "vex", Description: "OpenVEX document whose not_affected and fixed statements suppress findings.", Kind: Path},
	{Name: "baseline", Azure: "baseline", Flag: "baseline", Description: "An earlier JSON report of the image (the default branch's, kept as an artifact): findings already in it do not fail the gate, new ones do; the reports say which are new. Several images: a report per image, comma-separated, each matched by the image it names.", Kind: Path},
	{Name: "reachability", Azure: "reachability", Flag: "reachability", Description: "Go binaries: gate (findings whose vulnerable code the binary does not link, read from its function table, are listed apart and do not fail the gate), report (marked only) or off.", Default: "gate", Kind: String},
	{Name: "platform", Azure: "platform", Flag: "platform", Description: "Platform to pick from a multi-platform image, os/arch[/variant] (default linux/amd64), or all: every platform of the index scanned in the step, a result per platform (a SARIF run and a summary section each, one verdict).", Kind: String},
	{Name: "image-source", Azure: "imageSource", Flag: "image-source", Description: "Where an image given by name is looked up, in order: daemon (the runner's Docker daemon), registry.", Default: "daemon,registry", Kind: String},
	{Name: "sarif-file", Azure: "sarifFile", Description: "Where to write the SARIF report.", Default: "imagegate.sarif", Kind: String},
	{Name: "format", Azure: "format", Flag: "format", Description: "Report printed to the log: " + output.FormatList() + ".", Default: "table", Kind: String},
	{Name: "db-path", Azure: "dbPath", Flag: "db", Description: "Vulnerability database: a folder (from imagegate db update or a cache), a folder of OSV all.zip files, or a database artifact oci://REGISTRY/REPOSITORY:TAG (pushed with imagegate db push; pulled when missing or changed). Default: the data kept in cache-dir, downloaded when missing.", Kind: Path},
	{Name: "db-verify-key", Azure: "dbVerifyKey", Flag: "db-verify-key", Description: "Public key (PEM, as cosign writes it) that signs the database artifact of db-path (oci://...): an unsigned or foreign artifact is refused (imagegate db push --sign signs one).", Kind: Path},
	{Name: "db-source", Azure: "dbSource", Description: "Where missing vulnerability data is downloaded from: the base URL of OSV's per-ecosystem exports (<Ecosystem>/all.zip), or none to never download. Default: $IMAGEGATE_DB_SOURCE (an organisation's mirror), else " + vulndb.DefaultSource + ".", Kind: String},
	{Name: "cache-dir", Azure: "cacheDir", Description: "Folder that keeps the downloaded vulnerability data between runs (cache it with actions/cache or Cache@2). Default: .cache/imagegate in the workspace (GitHub), $(Pipeline.Workspace)/.cache/imagegate (Azure DevOps).", Kind: Path},
	{Name: "db-max-age", Azure: "dbMaxAge", Flag: "db-max-age", Description: "Warn when the vulnerability data is older than this.", Default: "168h0m0s", Kind: Duration},
	{Name: "registry-username", Azure: "registryUsername", Flag: "username", Description: "Registry user name (default: the Docker credentials in DOCKER_CONFIG or ~/.docker).", Kind: String},
	{Name: "registry-password", Azure: "registryPassword", Flag: "password", Description: "Registry password or token.", Kind: Secret},
	{Name: "summary", Azure: "summary", Description: "Write the Markdown summary to the job (GitHub) or build (Azure DevOps) summary.", Default: "true", Kind: Bool},
	{Name: "annotations", Azure: "annotations", Description: "Annotate the most severe findings on their Dockerfile lines.", Default: "true", Kind: Bool},
	{Name: "monitor-when", Azure: "monitorWhen", Description: "When to publish the SBOM as a build artifact for later re-scans: always, noIssuesFound or never.", Default: "always", Kind: String, AzureOnly: true},
	{Name: "pr-comment", Azure: "prComment", Description: "Keep the summary as a comment on the pull request, edited in place on each run (GitHub: one per job and image; Azure Repos: a thread, and threads on the Dockerfile lines). A token that may not comment (a fork's pull request) is a warning, never a failure.", Default: "true", Kind: Bool},
	{Name: "github-token", Description: "Token the pull-request comment is written with (needs pull-requests: write).", Default: "${{ github.token }}", Kind: Secret, GitHubOnly: true},
	{Name: "additional-arguments", Azure: "additionalArguments", Description: "More imagegate scan flags, as on the command line (shell quoting); Snyk's --file=, --severity-threshold=, --exclude-base-image-vulns, --sarif-file-output= and --json-file-output= are understood.", Kind: String},
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
	// Scan is the request for every image of Images (scanner.ScanImages sets its Image).
	Scan        scanner.Request
	Images      []string
	SARIFFile   string
	JSONFile    string
	Format      string
	Summary     bool
	Annotations bool
	MonitorWhen string
	PRComment   bool
	// Token writes the GitHub pull-request comment.
	Token string
	// DBSource is where missing vulnerability data comes from ("" never downloads);
	// CacheDir keeps it ("" for the front end's default).
	DBSource string
	CacheDir string
	// Outputs are more report files asked for with -o in additional-arguments.
	Outputs []output.Spec
	// ListPackages and SARIFCategory are report options from additional-arguments.
	ListPackages  bool
	SARIFCategory string
	// Secrets are values to mask in logs.
	Secrets []string
	// Relaxed says, a line each, which input relaxed the gate and how (a notice in the log).
	Relaxed []string
}

// Parse reads raw values (canonical name -> text, as the CI gave them; empty means unset)
// into Settings. Inputs that are scan flags go through the CLI's own flag set, and
// additional-arguments are parsed over them, so that a flag given there wins. Every error
// names the input and is an input error.
// spell names an input as the CI system does (nil: the canonical name).
func Parse(get func(name string) string, spell func(name string) string) (*Settings, error) {
	if spell == nil {
		spell = func(name string) string { return name }
	}
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
			return false, failure.Inputf("input %s: %q is not a boolean (true or false)", spell(name), s)
		}
		return x, nil
	}
	st := &Settings{}
	images := Images(v("image"))
	if len(images) == 0 {
		return nil, failure.Inputf("input %s is required: name the image to scan", spell("image"))
	}
	var f flags.Scan
	fl := pflag.NewFlagSet("additional-arguments", pflag.ContinueOnError)
	fl.SetOutput(io.Discard)
	f.Register(fl)
	if err := setFlags(fl, get, spell); err != nil {
		return nil, err
	}
	for name, dst := range map[string]*bool{"summary": &st.Summary, "annotations": &st.Annotations, "pr-comment": &st.PRComment} {
		x, err := b(name)
		if err != nil {
			return nil, err
		}
		*dst = x
	}
	switch st.MonitorWhen = v("monitor-when"); st.MonitorWhen {
	case "always", "noIssuesFound", "never":
	default:
		return nil, failure.Inputf("input %s: %q is not one of always, noIssuesFound, never", spell("monitor-when"), st.MonitorWhen)
	}
	// The token has no default here: action.yml's (the job's token) applies on GitHub only.
	if st.Token = strings.TrimSpace(get("github-token")); st.Token != "" {
		st.Secrets = append(st.Secrets, st.Token)
	}
	st.SARIFFile = v("sarif-file")
	fromArgs, err := additional(fl, v("additional-arguments"), spell("additional-arguments"), st)
	if err != nil {
		return nil, err
	}
	st.Relaxed = relaxations(fl, fromArgs, spell)
	if st.JSONFile == "" {
		st.JSONFile = strings.TrimSuffix(st.SARIFFile, filepath.Ext(st.SARIFFile)) + ".json"
	}
	if err := output.CheckFormat(f.Format); err != nil {
		return nil, failure.Inputf("input %s: %w", spell("format"), err)
	}
	opts, err := f.Request(images...)
	if err != nil {
		return nil, err
	}
	st.Scan, st.Images, st.Format, st.Outputs = opts, images, f.Format, f.Specs
	st.ListPackages, st.SARIFCategory = f.ListPkgs, f.Category
	st.DBSource = dbSource(v("db-source"))
	st.CacheDir = v("cache-dir")
	if f.Password != "" {
		st.Secrets = append(st.Secrets, f.Password)
	}
	return st, nil
}

// Images reads the image input: one image, or several one per line (GitHub's way) or
// separated by commas (Azure's); no image reference holds either.
func Images(input string) []string {
	var out []string
	for _, line := range strings.Split(input, "\n") {
		for _, img := range strings.Split(line, ",") {
			if img = strings.TrimSpace(img); img != "" {
				out = append(out, img)
			}
		}
	}
	return out
}

// setFlags sets the scan flag of every input that has one and was given, each value
// checked as its kind requires; an error names the input.
func setFlags(fl *pflag.FlagSet, get, spell func(name string) string) error {
	for _, in := range Table {
		raw := strings.TrimSpace(get(in.Name))
		if in.Flag == "" || raw == "" {
			continue
		}
		switch in.Kind {
		case Bool:
			if _, err := strconv.ParseBool(strings.ToLower(raw)); err != nil {
				return failure.Inputf("input %s: %q is not a boolean (true or false)", spell(in.Name), raw)
			}
			raw = strings.ToLower(raw)
		case Severity:
			if sev, err := report.ParseSeverity(raw); err != nil || sev == report.Unknown {
				return failure.Inputf("input %s: %q is not one of low, medium, high, critical", spell(in.Name), raw)
			}
			raw = strings.ToLower(raw)
		case Duration:
			if _, err := time.ParseDuration(raw); err != nil {
				return failure.Inputf("input %s: %q is not a duration like 168h", spell(in.Name), raw)
			}
		}
		if err := flags.Set(fl, spell(in.Name), in.Flag, raw); err != nil {
			return err
		}
	}
	return nil
}

// dbSource is where the data is downloaded from: the input, else IMAGEGATE_DB_SOURCE,
// else OSV's exports; "none" downloads nothing.
func dbSource(input string) string {
	s := input
	if s == "" {
		s = os.Getenv("IMAGEGATE_DB_SOURCE")
	}
	switch s {
	case "":
		return vulndb.DefaultSource
	case "none":
		return ""
	}
	return s
}

// snykFlags maps the Snyk CLI flags that pipelines moving from SnykSecurityScan pass in
// additionalArguments to imagegate's; the value, if any, is kept.
var snykFlags = map[string]string{
	"--file":                     "--dockerfile",
	"--severity-threshold":       "--severity-threshold",
	"--exclude-base-image-vulns": "--exclude-base",
	"--platform":                 "--platform",
	"--username":                 "--username",
	"--password":                 "--password",
}

// additional parses the additional-arguments input over the flag set, with shell
// quoting and without expansion: a word is what the shell would pass, $VAR included;
// anything the shell would run or redirect is refused. It returns the flags it named.
func additional(fl *pflag.FlagSet, args, input string, st *Settings) (map[string]bool, error) {
	named := map[string]bool{}
	if strings.TrimSpace(args) == "" {
		return named, nil
	}
	if err := plainWords(args); err != nil {
		return nil, failure.Inputf("input %s: %w", input, err)
	}
	words, err := shell.Fields(args, func(name string) string { return "$" + name })
	if err != nil {
		return nil, failure.Inputf("input %s: %w", input, err)
	}
	var rest []string
	for _, w := range words {
		name, value, hasValue := strings.Cut(w, "=")
		switch name {
		case "--sarif-file-output":
			st.SARIFFile = value
			continue
		case "--json-file-output":
			st.JSONFile = value
			continue
		}
		if to, ok := snykFlags[name]; ok && to != name {
			w = to
			if hasValue {
				w += "=" + value
			}
		}
		rest = append(rest, w)
		if f, ok := strings.CutPrefix(w, "--"); ok {
			f, _, _ = strings.Cut(f, "=")
			named[f] = true
		}
	}
	if err := fl.Parse(rest); err != nil {
		return nil, failure.Inputf("input %s: %w (it takes the flags of 'imagegate scan')", input, err)
	}
	if fl.NArg() > 0 {
		return nil, failure.Inputf("input %s: unexpected %q (the image is its own input)", input, fl.Arg(0))
	}
	return named, nil
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
