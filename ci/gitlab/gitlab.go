// Package gitlab is the GitLab CI host of the CI run, to show that a CI system is one file:
// inputs from IMAGEGATE_INPUT_<NAME> variables (a CI/CD component's inputs passed to the
// job), findings as plain log lines in a collapsible section, outputs as a dotenv report
// (artifacts:reports:dotenv), and the exit code as the job's result.
package gitlab

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagegate/imagegate/ci"
	"github.com/imagegate/imagegate/ci/inputs"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/output"
	"github.com/imagegate/imagegate/reporters/visible"
)

// DotenvFile is where the outputs are written, for artifacts:reports:dotenv.
const DotenvFile = "imagegate.env"

// Run runs the job and returns the process exit code.
func Run(ctx context.Context, getenv func(string) string, out io.Writer) int {
	return ci.Run(ctx, &Host{getenv: getenv, w: out})
}

// Host is GitLab CI.
type Host struct {
	getenv  func(string) string
	w       io.Writer
	section string
}

// InputVariable is the variable that carries an input: image -> IMAGEGATE_INPUT_IMAGE.
func InputVariable(name string) string {
	return "IMAGEGATE_INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func (h *Host) Input(name string) string     { return h.getenv(InputVariable(name)) }
func (h *Host) InputName(name string) string { return name }
func (h *Host) Checkout() string             { return h.getenv("CI_PROJECT_DIR") }
func (h *Host) CacheDir() string {
	return filepath.Join(h.getenv("CI_PROJECT_DIR"), ".cache", "imagegate")
}

// Log is the job log; GitLab runs no commands from it, but escape sequences would act on
// the viewer, so each line is shown with them escaped.
func (h *Host) Log() io.Writer { return &visibleLines{w: h.w} }

func (h *Host) Mask(string) {} // masked variables are GitLab's own setting

// Group opens a collapsible section; its name is ours, its title is escaped.
func (h *Host) Group(title string) {
	h.section = fmt.Sprintf("imagegate_%d", time.Now().UnixNano())
	fmt.Fprintf(h.w, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", time.Now().Unix(), h.section, visible.String(title))
}

func (h *Host) EndGroup() {
	if h.section != "" {
		fmt.Fprintf(h.w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", time.Now().Unix(), h.section)
		h.section = ""
	}
}

func (h *Host) Level(s report.Severity) ci.Level {
	switch {
	case s >= report.High:
		return ci.Error
	case s == report.Medium:
		return ci.Warning
	}
	return ci.Notice
}

// Limit: the log has room; the reports hold everything.
func (h *Host) Limit() int { return 50 }

func (h *Host) Annotate(a ci.Annotation) {
	level := map[ci.Level]string{ci.Error: "ERROR", ci.Warning: "WARNING", ci.Notice: "NOTE"}[a.Level]
	where := ""
	if a.File != "" {
		where = fmt.Sprintf("%s:%d: ", a.File, a.Line)
	}
	fmt.Fprintf(h.w, "%s: %s%s: %s\n", level, visible.String(where), visible.String(a.Title), visible.String(a.Message))
}

// Summary: the Markdown report is a file next to the SARIF one; keep it as an artifact.
func (h *Host) Summary(string, string) error { return nil }

// WorkspaceFiles implements ci.WorkspaceWriter: the dotenv report.
func (h *Host) WorkspaceFiles() []string { return []string{h.dotenv()} }

func (h *Host) dotenv() string { return filepath.Join(h.Checkout(), DotenvFile) }

// SetOutputs writes IMAGEGATE_<NAME>=value lines for artifacts:reports:dotenv.
func (h *Host) SetOutputs(outs []ci.Output) error {
	var b strings.Builder
	for _, o := range outs {
		v := strings.NewReplacer("\n", " ", "\r", " ").Replace(o.Value)
		fmt.Fprintf(&b, "IMAGEGATE_%s=%s\n", strings.ToUpper(strings.ReplaceAll(o.Name, "-", "_")), v)
	}
	// Through the one writer of report files: a link committed where the file goes is
	// refused, never followed.
	return output.WriteFile(h.dotenv(), func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
}

func (h *Host) Publish(context.Context, *inputs.Settings, []*report.Result, ci.Files) error {
	return nil
}

func (h *Host) Complete(ci.Result, string) {}

// visibleLines escapes control characters line by line.
type visibleLines struct{ w io.Writer }

func (v *visibleLines) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	for _, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		out := visible.String(body)
		if len(l) > len(body) {
			out += "\n"
		}
		if _, err := io.WriteString(v.w, out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
