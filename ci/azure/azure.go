// Package azure is the Azure DevOps host of the CI run. The task's Node shim runs the
// binary with the task inputs in IMAGEGATE_INPUT_<name> variables; this host reads them
// and writes what the agent understands: logging commands for issues (with their
// Dockerfile lines), the SARIF file as the CodeAnalysisLogs artifact (the SARIF Scans
// tab), the Markdown build summary, output variables, the task result, and in an Azure
// Repos pull-request build a comment thread kept up to date across runs.
package azure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/imagegate/imagegate/ci"
	"github.com/imagegate/imagegate/ci/inputs"
	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/markdown"
)

// IssuesPerType is how many issues of one type the agent keeps per task.
const IssuesPerType = 10

// InputPrefix is the environment prefix the shim passes inputs under.
const InputPrefix = "IMAGEGATE_INPUT_"

// SnykInputs are SnykSecurityScan@1's inputs that imagegate has no use for. The task
// declares them so that a pipeline moving from Snyk only changes its task line; a value
// given to one is reported and ignored.
var SnykInputs = []string{
	"serviceConnectionEndpoint", "testType", "targetFile", "organization", "projectName",
	"testDirectory", "monitorOnBuild", "codeSeverityThreshold", "failOnThreshold",
	"ignoreUnknownCA", "distributeMonitor",
}

// Run runs the task and returns the process exit code. getenv is the environment the
// shim set; out is the agent's log.
func Run(ctx context.Context, getenv func(string) string, out io.Writer) int {
	h := New(getenv, out)
	if t := strings.TrimSpace(getenv(InputPrefix + "testType")); t != "" && t != "container" {
		h.Annotate(ci.Annotation{Level: ci.Error, Message: fmt.Sprintf("input testType %q: imagegate tests container images (testType: container)", t)})
		h.Complete(ci.Failed, "testType "+t+" is not supported")
		return failure.ExitInput
	}
	for _, name := range SnykInputs {
		if v := strings.TrimSpace(getenv(InputPrefix + name)); v != "" && name != "testType" {
			h.log.line(fmt.Sprintf("imagegate: input %s is SnykSecurityScan's and has no meaning here; it is ignored", name))
		}
	}
	return ci.Run(ctx, h)
}

// Host is the Azure DevOps agent.
type Host struct {
	getenv func(string) string
	log    *agentLog
}

// New returns the Azure DevOps host.
func New(getenv func(string) string, out io.Writer) *Host {
	return &Host{getenv: getenv, log: &agentLog{w: out}}
}

// Input reads the task input. The agent gives an empty filePath input as the sources
// folder (task-lib's filePathSupplied tells them apart): that means "not given".
func (h *Host) Input(name string) string {
	in, ok := inputs.ByName(name)
	if !ok || in.Azure == "" {
		return ""
	}
	v := h.getenv(InputPrefix + in.Azure)
	if in.Kind == inputs.Path && strings.TrimSpace(v) != "" {
		for _, root := range []string{"BUILD_SOURCESDIRECTORY", "SYSTEM_DEFAULTWORKINGDIRECTORY"} {
			if r := h.getenv(root); r != "" && filepath.Clean(strings.TrimSpace(v)) == filepath.Clean(r) {
				return ""
			}
		}
	}
	return v
}

// InputName is the task.json name of an input.
func (h *Host) InputName(name string) string {
	if in, ok := inputs.ByName(name); ok && in.Azure != "" {
		return in.Azure
	}
	return name
}

// Checkout is Build.SourcesDirectory.
func (h *Host) Checkout() string { return h.getenv("BUILD_SOURCESDIRECTORY") }

// CacheDir is $(Pipeline.Workspace)/.cache/imagegate, the folder Cache@2 examples keep.
func (h *Host) CacheDir() string {
	for _, v := range []string{"PIPELINE_WORKSPACE", "AGENT_BUILDDIRECTORY"} {
		if d := h.getenv(v); d != "" {
			return filepath.Join(d, ".cache", "imagegate")
		}
	}
	return filepath.Join(".cache", "imagegate")
}

// Log is the agent's log, with logging commands in it made inert.
func (h *Host) Log() io.Writer { return h.log }

// Mask registers a secret with the agent.
func (h *Host) Mask(secret string) { h.log.command("task.setsecret", nil, secret) }

// Group starts a foldable group.
func (h *Host) Group(title string) { h.log.line("##[group]" + inert(failure.OneLine(title))) }

// EndGroup ends it.
func (h *Host) EndGroup() { h.log.line("##[endgroup]") }

// Level: critical and high are errors, the rest warnings (the agent has no notices).
func (h *Host) Level(s report.Severity) ci.Level {
	if s >= report.High {
		return ci.Error
	}
	return ci.Warning
}

// Limit is what the agent keeps per issue type.
func (h *Host) Limit() int { return IssuesPerType }

// Annotate logs an issue, on its source line when known.
func (h *Host) Annotate(a ci.Annotation) {
	typ := "warning"
	if a.Level == ci.Error {
		typ = "error"
	}
	props := map[string]string{"type": typ}
	if a.Code != "" {
		props["code"] = a.Code
	}
	if a.File != "" {
		props["sourcepath"] = a.File
		props["linenumber"] = strconv.Itoa(a.Line)
		props["columnnumber"] = "1"
	}
	msg := a.Message
	if a.Title != "" && a.Code != "" {
		msg = a.Title + ": " + a.Message
	}
	h.log.command("task.logissue", props, msg)
}

// Summary uploads the Markdown file as the build summary.
func (h *Host) Summary(_ string, file string) error {
	h.log.command("task.uploadsummary", nil, file)
	return nil
}

// SetOutputs sets output variables, named as in task.json (camelCase).
func (h *Host) SetOutputs(outs []ci.Output) error {
	for _, o := range outs {
		h.log.command("task.setvariable", map[string]string{"variable": OutputName(o.Name), "isOutput": "true"}, o.Value)
	}
	return nil
}

// OutputName is the task.json name of a canonical output: sarif-file -> sarifFile.
func OutputName(name string) string {
	parts := strings.Split(name, "-")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// Publish uploads the SARIF file as the CodeAnalysisLogs artifact (read by the SARIF
// Scans tab and Microsoft Security DevOps), the SBOM as the imagegate-sbom artifact as
// monitorWhen says, and comments on an Azure Repos pull request.
func (h *Host) Publish(ctx context.Context, st *inputs.Settings, rs []*report.Result, files ci.Files) error {
	h.log.command("artifact.upload", map[string]string{"containerfolder": "CodeAnalysisLogs", "artifactname": "CodeAnalysisLogs"}, files.SARIF)
	for i, res := range rs {
		if st.MonitorWhen == "always" || (st.MonitorWhen == "noIssuesFound" && res.Verdict.AtOrAboveThreshold == 0) {
			h.log.command("artifact.upload", map[string]string{"containerfolder": "imagegate-sbom", "artifactname": "imagegate-sbom"}, files.SBOM[i])
		}
	}
	// Pull request threads are an Azure Repos API; a pipeline building a GitHub or
	// Bitbucket repository has none.
	if !st.PRComment || h.getenv("SYSTEM_PULLREQUEST_PULLREQUESTID") == "" || h.getenv("BUILD_REPOSITORY_PROVIDER") != "TfsGit" {
		return nil
	}
	var md strings.Builder
	var fs []report.Finding
	for _, res := range rs {
		if err := markdown.Write(&md, res, markdown.Options{MaxSize: MaxThread / len(rs)}); err != nil {
			return err
		}
		fs = append(fs, res.Findings...)
	}
	if err := commentOnPullRequest(ctx, h.getenv, md.String(), fs); err != nil {
		return fmt.Errorf("pull request comment: %w", err)
	}
	return nil
}

// MaxThread bounds the pull-request summary thread (Azure Repos takes 150,000 characters
// a comment): several images share it.
const MaxThread = 150_000

// Complete sets the task result.
func (h *Host) Complete(r ci.Result, message string) {
	result := map[ci.Result]string{ci.Succeeded: "Succeeded", ci.SucceededWithIssues: "SucceededWithIssues", ci.Failed: "Failed"}[r]
	h.log.command("task.complete", map[string]string{"result": result}, failure.OneLine(message))
}

func issueMessage(f report.Finding) string {
	if f.Kind == report.KindVulnerability && f.Package != nil {
		return fmt.Sprintf("%s %s in %s %s (%s): %s", f.Severity, f.ID, f.Package.Name, f.Package.Version, f.Title, f.FixText())
	}
	return fmt.Sprintf("%s %s: %s", f.Severity, f.ID, f.Message)
}

// agentLog writes the log: untrusted text line by line with logging commands made inert,
// and the host's own commands with the agent's escaping.
type agentLog struct {
	w       io.Writer
	partial []byte
}

// Write buffers to whole lines, so that a command split across writes is still seen.
func (l *agentLog) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		if _, err := io.WriteString(l.w, inert(string(l.partial[:i]))+"\n"); err != nil {
			return 0, err
		}
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *agentLog) flush() {
	if len(l.partial) > 0 {
		io.WriteString(l.w, inert(string(l.partial))+"\n")
		l.partial = nil
	}
}

// line writes one line of the host's own (already safe) text.
func (l *agentLog) line(s string) {
	l.flush()
	io.WriteString(l.w, s+"\n")
}

// inert breaks the markers the agent acts on anywhere in a line (##vso[ and ##[) with a
// visible break, and drops carriage returns, which the agent treats as line ends.
func inert(s string) string {
	s = strings.NewReplacer("##vso[", "##vso\u2024[", "##[", "#\u2024#[", "\r", "").Replace(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\t' {
			return '\uFFFD'
		}
		return r
	}, s)
}

// escapeData escapes a message: the agent reads %AZP25 as %, %0D and %0A as CR and LF.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty also escapes the property separators ; and ].
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A", "]", "%5D", ";", "%3B").Replace(s)
}

func (l *agentLog) command(name string, props map[string]string, msg string) {
	l.flush()
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
