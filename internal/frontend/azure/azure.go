// Package azure is the Azure DevOps front end: the task's Node shim runs the binary with
// the task inputs in IMAGEGATE_INPUT_<name> variables; this reads them, runs the scanner
// and writes what the agent understands: logging commands for the most severe findings
// (with their Dockerfile lines), the SARIF file as the CodeAnalysisLogs artifact (the
// SARIF Scans tab), the Markdown build summary, output variables, the task result, and in
// a pull-request build a comment thread kept up to date across runs.
package azure

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/imagegate/imagegate/internal/frontend/inputs"
	"github.com/imagegate/imagegate/reporters/markdown"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/finding"
)

// IssuesPerType is how many issues of one type the agent keeps per task.
const IssuesPerType = 10

// InputPrefix is the environment prefix the shim passes inputs under.
const InputPrefix = "IMAGEGATE_INPUT_"

// Run runs the task and returns the process exit code. getenv is the environment the
// shim set; out is the agent's log.
func Run(ctx context.Context, getenv func(string) string, out io.Writer) int {
	log := &logger{w: out}
	st, err := inputs.Parse(func(name string) string {
		in, _ := inputs.ByName(name)
		return getenv(InputPrefix + in.Azure)
	})
	if err == nil {
		err = additional(getenv(InputPrefix+"additionalArguments"), st)
	}
	if err != nil {
		log.issue("error", nil, err.Error())
		log.complete("Failed", oneLine(err.Error()))
		return failure.Code(err)
	}
	for _, s := range st.Secrets {
		log.command("task.setsecret", nil, s)
	}
	fmt.Fprintf(out, "##[group]imagegate scan %s\n", st.Scan.Image)
	res, err := scanner.Scan(ctx, st.Scan)
	fmt.Fprintln(out, "##[endgroup]")
	if err != nil {
		log.issue("error", nil, err.Error())
		log.complete("Failed", oneLine(err.Error()))
		return failure.Code(err)
	}
	for _, w := range res.Warnings {
		log.issue("warning", nil, w)
	}
	base := strings.TrimSuffix(st.SARIFFile, filepath.Ext(st.SARIFFile))
	files := []output.Spec{{Format: "sarif", Path: st.SARIFFile}, {Format: "json", Path: base + ".json"}, {Format: "markdown", Path: base + ".md"}, {Format: "cyclonedx", Path: base + ".cdx.json"}}
	for _, sp := range files {
		if err := output.Check(sp.Path); err != nil {
			log.issue("error", nil, err.Error())
			log.complete("Failed", oneLine(err.Error()))
			return failure.Code(err)
		}
		if err := output.WriteFile(sp.Path, func(w io.Writer) error { return output.Render(w, sp.Format, res, output.Options{}) }); err != nil {
			log.issue("error", nil, err.Error())
			log.complete("Failed", oneLine(err.Error()))
			return failure.Code(err)
		}
	}
	if err := output.Render(out, st.Format, res, output.Options{}); err != nil {
		log.complete("Failed", "writing the report: "+err.Error())
		return failure.ExitIncomplete
	}
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	// The SARIF Scans tab and Microsoft Security DevOps read the CodeAnalysisLogs artifact.
	log.command("artifact.upload", map[string]string{"containerfolder": "CodeAnalysisLogs", "artifactname": "CodeAnalysisLogs"}, abs(st.SARIFFile))
	if st.Summary {
		log.command("task.uploadsummary", nil, abs(base+".md"))
	}
	if st.MonitorWhen == "always" || (st.MonitorWhen == "noIssuesFound" && res.Verdict.AtOrAboveThreshold == 0) {
		log.command("artifact.upload", map[string]string{"containerfolder": "imagegate-sbom", "artifactname": "imagegate-sbom"}, abs(base+".cdx.json"))
	}
	if st.Annotations {
		issues(log, res.Findings, getenv("BUILD_SOURCESDIRECTORY"))
	}
	for _, kv := range outputs(res, abs(st.SARIFFile), abs(base+".json")) {
		log.command("task.setvariable", map[string]string{"variable": kv[0], "isOutput": "true"}, kv[1])
	}
	if st.PRComment && getenv("SYSTEM_PULLREQUEST_PULLREQUESTID") != "" {
		var md strings.Builder
		if err := markdown.Write(&md, res, markdown.Options{MaxSize: 150_000}); err == nil {
			if err := commentOnPullRequest(ctx, getenv, md.String(), res.Findings); err != nil {
				log.issue("warning", nil, "pull request comment: "+err.Error())
			}
		}
	}
	active := 0
	for _, f := range res.Findings {
		if f.Suppressed == nil {
			active++
		}
	}
	switch {
	case !res.Verdict.Pass:
		msg := fmt.Sprintf("%d findings at or above %s", res.Verdict.AtOrAboveThreshold, strings.ToLower(res.Verdict.Threshold.String()))
		log.complete("Failed", msg)
		return failure.ExitFindings
	case active > 0:
		log.complete("SucceededWithIssues", fmt.Sprintf("%d findings, none failing the gate", active))
	default:
		log.complete("Succeeded", "no findings")
	}
	return failure.ExitPass
}

// additional applies the additionalArguments input: the scan flags that have no input of
// their own.
func additional(args string, st *inputs.Settings) error {
	if strings.TrimSpace(args) == "" {
		return nil
	}
	fs := pflag.NewFlagSet("additionalArguments", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scanners := fs.StringSlice("scanners", nil, "")
	baseImage := fs.String("base-image", "", "")
	resolve := fs.Bool("resolve-base", false, "")
	reportAll := fs.Bool("report-all", false, "")
	maxFile := fs.Int64("max-file-size", 0, "")
	insecure := fs.Bool("insecure-registry", false, "")
	if err := fs.Parse(strings.Fields(args)); err != nil {
		return failure.Inputf("input additionalArguments: %v (supported: --scanners, --base-image, --resolve-base, --report-all, --max-file-size, --insecure-registry)", err)
	}
	if fs.NArg() > 0 {
		return failure.Inputf("input additionalArguments: unexpected %q", fs.Arg(0))
	}
	st.Scan.Scanners, st.Scan.BaseImage, st.Scan.ResolveBase = *scanners, *baseImage, *resolve
	st.Scan.MaxFileSize, st.Scan.Insecure = *maxFile, *insecure
	if st.Scan.Policy != nil {
		st.Scan.Policy.ReportAll = *reportAll
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// logger writes the agent's logging commands (##vso[area.action key=value;]message) with
// the agent's escaping.
type logger struct{ w io.Writer }

// escapeData escapes a message: the agent reads %AZP25 as %, %0D and %0A as CR and LF.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty also escapes the property separators ; and ].
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A", "]", "%5D", ";", "%3B").Replace(s)
}

func (l *logger) command(name string, props map[string]string, msg string) {
	var b strings.Builder
	b.WriteString("##vso[" + name)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + escapeProperty(props[k]) + ";")
	}
	b.WriteString("]" + escapeData(msg) + "\n")
	io.WriteString(l.w, b.String())
}

func (l *logger) issue(typ string, props map[string]string, msg string) {
	p := map[string]string{"type": typ}
	for k, v := range props {
		p[k] = v
	}
	l.command("task.logissue", p, msg)
}

func (l *logger) complete(result, msg string) {
	l.command("task.complete", map[string]string{"result": result}, msg)
}

// issues logs the most severe findings that count for the gate: critical and high as
// errors, the rest as warnings, IssuesPerType of each (the agent keeps no more).
func issues(l *logger, fs []finding.Finding, sourcesDir string) {
	var active []finding.Finding
	for _, f := range fs {
		if f.Suppressed == nil && !f.BelowThreshold {
			active = append(active, f)
		}
	}
	sort.SliceStable(active, func(i, j int) bool { return active[i].Severity > active[j].Severity })
	used := map[string]int{}
	for _, f := range active {
		typ := "warning"
		if f.Severity >= finding.High {
			typ = "error"
		}
		if used[typ] == IssuesPerType {
			continue
		}
		used[typ]++
		props := map[string]string{"code": f.ID}
		if f.Location != nil {
			props["sourcepath"] = inputs.RelativeTo(f.Location.Path, sourcesDir)
			props["linenumber"] = strconv.Itoa(f.Location.StartLine)
			props["columnnumber"] = "1"
		}
		l.issue(typ, props, issueMessage(f))
	}
}

func issueMessage(f finding.Finding) string {
	if f.Kind == finding.KindVulnerability && f.Package != nil {
		fix := f.FixText()
		return fmt.Sprintf("%s %s in %s %s (%s): %s", f.Severity, f.ID, f.Package.Name, f.Package.Version, f.Title, fix)
	}
	return fmt.Sprintf("%s %s: %s", f.Severity, f.ID, f.Message)
}

func outputs(res *scanner.Result, sarifFile, jsonFile string) [][2]string {
	result := "pass"
	if !res.Verdict.Pass {
		result = "fail"
	}
	counts := map[finding.Severity]int{}
	total := 0
	for _, f := range res.Findings {
		if f.Suppressed == nil {
			counts[f.Severity]++
			total++
		}
	}
	return [][2]string{
		{"sarifFile", sarifFile}, {"jsonFile", jsonFile}, {"result", result},
		{"critical", strconv.Itoa(counts[finding.Critical])}, {"high", strconv.Itoa(counts[finding.High])},
		{"medium", strconv.Itoa(counts[finding.Medium])}, {"low", strconv.Itoa(counts[finding.Low])},
		{"total", strconv.Itoa(total)},
	}
}
