// Package github is the GitHub Actions front end: it reads the action's inputs, runs the
// scanner, and writes what GitHub shows: annotations on Dockerfile lines (the most severe,
// within GitHub's limits), the job summary, the step outputs, and the SARIF file for code
// scanning. The exit code decides the step's result.
package github

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagegate/imagegate/internal/frontend/inputs"
	"github.com/imagegate/imagegate/reporters/markdown"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/scanner"
	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/finding"
)

// AnnotationsPerLevel is how many annotations of one level GitHub shows per step.
const AnnotationsPerLevel = 10

// Run runs the action with the environment getenv and writes workflow commands to out.
// It returns the process exit code.
func Run(ctx context.Context, getenv func(string) string, out io.Writer) int {
	a := githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(getenv))
	st, err := inputs.Parse(a.GetInput)
	if err != nil {
		a.Errorf("%s", oneLine(err.Error()))
		return failure.Code(err)
	}
	for _, s := range st.Secrets {
		a.AddMask(s)
	}
	a.Group("imagegate scan " + st.Scan.Image)
	res, err := scanner.Scan(ctx, st.Scan)
	a.EndGroup()
	if err != nil {
		a.Errorf("%s", oneLine(err.Error()))
		return failure.Code(err)
	}
	for _, w := range res.Warnings {
		a.Warningf("%s", oneLine(w))
	}
	jsonFile := strings.TrimSuffix(st.SARIFFile, filepath.Ext(st.SARIFFile)) + ".json"
	for _, sp := range []output.Spec{{Format: "sarif", Path: st.SARIFFile}, {Format: "json", Path: jsonFile}} {
		if err := output.Check(sp.Path); err != nil {
			a.Errorf("%s", oneLine(err.Error()))
			return failure.Code(err)
		}
		if err := output.WriteFile(sp.Path, func(w io.Writer) error { return output.Render(w, sp.Format, res, output.Options{}) }); err != nil {
			a.Errorf("%s", oneLine(err.Error()))
			return failure.Code(err)
		}
	}
	if err := output.Render(out, st.Format, res, output.Options{}); err != nil {
		a.Errorf("writing the report: %v", err)
		return failure.ExitIncomplete
	}
	var sb strings.Builder
	if err := markdown.Write(&sb, res, markdown.Options{}); err != nil {
		a.Errorf("writing the summary: %v", err)
		return failure.ExitIncomplete
	}
	if st.Annotations {
		if rest := annotate(a, res.Findings, getenv("GITHUB_WORKSPACE")); rest > 0 && st.Summary {
			fmt.Fprintf(&sb, "\n_%d more findings are not annotated (GitHub shows %d per level): they are listed above and in the SARIF report._\n", rest, AnnotationsPerLevel)
		}
	}
	if st.Summary && getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(sb.String())
	}
	if err := writeOutputs(getenv("GITHUB_OUTPUT"), outputs(res, st.SARIFFile, jsonFile)); err != nil {
		a.Errorf("writing step outputs: %v", err)
		return failure.ExitIncomplete
	}
	if !res.Verdict.Pass {
		a.Errorf("imagegate: %d findings at or above %s", res.Verdict.AtOrAboveThreshold, strings.ToLower(res.Verdict.Threshold.String()))
		return failure.ExitFindings
	}
	return failure.ExitPass
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// annotate writes annotations for the most severe findings that count for the gate:
// critical and high as errors, medium as warnings, low and unknown as notices, at most
// AnnotationsPerLevel of each. It returns how many findings were left out.
func annotate(a *githubactions.Action, fs []finding.Finding, workspace string) int {
	var active []finding.Finding
	for _, f := range fs {
		if f.Suppressed == nil && !f.BelowThreshold {
			active = append(active, f)
		}
	}
	sort.SliceStable(active, func(i, j int) bool { return active[i].Severity > active[j].Severity })
	used := map[string]int{}
	rest := 0
	for _, f := range active {
		lvl := level(f.Severity)
		if used[lvl] == AnnotationsPerLevel {
			rest++
			continue
		}
		used[lvl]++
		fields := map[string]string{"title": title(f)}
		if f.Location != nil {
			fields["file"] = inputs.RelativeTo(f.Location.Path, workspace)
			fields["line"] = strconv.Itoa(f.Location.StartLine)
			fields["endLine"] = strconv.Itoa(f.Location.EndLine)
		}
		msg := annotationMessage(f)
		switch lvl {
		case "error":
			a.WithFieldsMap(fields).Errorf("%s", msg)
		case "warning":
			a.WithFieldsMap(fields).Warningf("%s", msg)
		default:
			a.WithFieldsMap(fields).Noticef("%s", msg)
		}
	}
	return rest
}

func level(s finding.Severity) string {
	switch s {
	case finding.Critical, finding.High:
		return "error"
	case finding.Medium:
		return "warning"
	}
	return "notice"
}

func title(f finding.Finding) string {
	if f.Package != nil {
		return fmt.Sprintf("%s %s in %s %s", f.Severity, f.ID, f.Package.Name, f.Package.Version)
	}
	return fmt.Sprintf("%s %s: %s", f.Severity, f.ID, f.Title)
}

func annotationMessage(f finding.Finding) string {
	if f.Kind == finding.KindVulnerability {
		fix := f.FixText()
		return fmt.Sprintf("%s\n%s (%s), layer %d.", f.Title, fix, f.Package.Ecosystem, f.Layer)
	}
	if f.Rule != nil {
		return f.Message + "\nFix: " + f.Rule.Fix
	}
	return f.Message
}

func outputs(res *scanner.Result, sarifFile, jsonFile string) [][2]string {
	result := "pass"
	if !res.Verdict.Pass {
		result = "fail"
	}
	// Counts leave out suppressed findings: they are what still needs attention.
	counts := map[finding.Severity]int{}
	total := 0
	for _, f := range res.Findings {
		if f.Suppressed == nil {
			counts[f.Severity]++
			total++
		}
	}
	return [][2]string{
		{"sarif-file", sarifFile},
		{"json-file", jsonFile},
		{"result", result},
		{"critical", strconv.Itoa(counts[finding.Critical])},
		{"high", strconv.Itoa(counts[finding.High])},
		{"medium", strconv.Itoa(counts[finding.Medium])},
		{"low", strconv.Itoa(counts[finding.Low])},
		{"total", strconv.Itoa(total)},
	}
}

// writeOutputs appends name/value pairs to GITHUB_OUTPUT in the multi-line form with a
// random delimiter: a value (an image name, a path) can never end the block early.
// go-githubactions' fixed delimiter is not safe for values that come from the scan.
func writeOutputs(path string, kv [][2]string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, p := range kv {
		delim, err := delimiter(p[1])
		if err != nil {
			f.Close()
			return err
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", p[0], delim, p[1], delim)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func delimiter(value string) (string, error) {
	for {
		var buf [16]byte
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		d := "ghadelimiter_" + hex.EncodeToString(buf[:])
		if !strings.Contains(value, d) {
			return d, nil
		}
	}
}
