// Package github is the GitHub Actions host of the CI run: inputs from INPUT_*, workflow
// commands for annotations and groups, the job summary, step outputs, and the checkout
// in GITHUB_WORKSPACE. The exit code decides the step's result.
package github

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/imagegate/imagegate/ci"
	"github.com/imagegate/imagegate/ci/inputs"
	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/markdown"
)

// AnnotationsPerLevel is how many annotations of one level GitHub shows per step.
const AnnotationsPerLevel = 10

// Run runs the action with the environment getenv, writing workflow commands to out, and
// returns the process exit code.
func Run(ctx context.Context, getenv func(string) string, out io.Writer) int {
	return ci.Run(ctx, New(getenv, out))
}

// Host is GitHub Actions.
type Host struct {
	a      *githubactions.Action
	getenv func(string) string
	log    *stoppedLog
}

// New returns the GitHub host.
func New(getenv func(string) string, out io.Writer) *Host {
	return &Host{
		a:      githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(getenv)),
		getenv: getenv,
		log:    &stoppedLog{w: out},
	}
}

// Input reads INPUT_<NAME>.
func (h *Host) Input(name string) string { return h.a.GetInput(name) }

// InputName is the action input's own name.
func (h *Host) InputName(name string) string { return name }

// Checkout is GITHUB_WORKSPACE.
func (h *Host) Checkout() string { return h.getenv("GITHUB_WORKSPACE") }

// CacheDir is .cache/imagegate in the workspace, as trivy-action keeps its cache: the
// workspace is the one folder a container action shares with the steps around it, so
// actions/cache can keep it between runs.
func (h *Host) CacheDir() string {
	return filepath.Join(h.getenv("GITHUB_WORKSPACE"), ".cache", "imagegate")
}

// Log is the step log. Everything written to it runs between ::stop-commands:: and its
// end token: a report line that reads like a workflow command (the image chooses what
// the report says) is printed, never run.
func (h *Host) Log() io.Writer { return h.log }

// Mask hides a secret in the log.
func (h *Host) Mask(secret string) { h.log.resume(); h.a.AddMask(secret) }

// Group starts a foldable group.
func (h *Host) Group(title string) { h.log.resume(); h.a.Group(failure.OneLine(title)) }

// EndGroup ends it.
func (h *Host) EndGroup() { h.log.resume(); h.a.EndGroup() }

// Level: critical and high are errors, medium warnings, the rest notices.
func (h *Host) Level(s report.Severity) ci.Level {
	switch s {
	case report.Critical, report.High:
		return ci.Error
	case report.Medium:
		return ci.Warning
	}
	return ci.Notice
}

// Limit is what GitHub shows per level and step.
func (h *Host) Limit() int { return AnnotationsPerLevel }

// Annotate writes ::error, ::warning or ::notice, with the file and lines when known.
// go-githubactions escapes the message and the properties.
func (h *Host) Annotate(an ci.Annotation) {
	h.log.resume()
	fields := map[string]string{}
	if an.Title != "" {
		fields["title"] = failure.OneLine(an.Title)
	}
	if an.File != "" {
		fields["file"] = an.File
		fields["line"] = strconv.Itoa(an.Line)
		if an.EndLine > 0 {
			fields["endLine"] = strconv.Itoa(an.EndLine)
		}
	}
	a := h.a.WithFieldsMap(fields)
	switch an.Level {
	case ci.Error:
		a.Errorf("%s", an.Message)
	case ci.Warning:
		a.Warningf("%s", an.Message)
	default:
		a.Noticef("%s", an.Message)
	}
}

// Summary appends to the job summary (GITHUB_STEP_SUMMARY).
func (h *Host) Summary(markdown, _ string) error {
	if h.getenv("GITHUB_STEP_SUMMARY") == "" {
		return nil
	}
	h.a.AddStepSummary(markdown)
	return nil
}

// SetOutputs appends the outputs to GITHUB_OUTPUT in the multi-line form with a random
// delimiter: a value can never end the block early. (go-githubactions' SetOutput uses a
// fixed delimiter.)
func (h *Host) SetOutputs(outs []ci.Output) error {
	path := h.getenv("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	var b strings.Builder
	for _, o := range outs {
		if strings.HasSuffix(o.Name, "-file") {
			// A container action sees the workspace at /github/workspace, the steps after
			// it at another path: a path relative to the workspace serves them all.
			// (json-file names a file per image, one per line.)
			lines := strings.Split(o.Value, "\n")
			for i, l := range lines {
				lines[i] = inputs.RelativeTo(l, h.Checkout())
			}
			o.Value = strings.Join(lines, "\n")
		}
		delim, err := delimiter(o.Value)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o.Name, delim, o.Value, delim)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Publish keeps the summary as a comment on the pull request the run is for, when there
// is one and pr-comment is on. (The SARIF file is uploaded by
// github/codeql-action/upload-sarif in a later step, from the sarif-file output.)
func (h *Host) Publish(ctx context.Context, st *inputs.Settings, rs []*report.Result, _ ci.Files) error {
	if !st.PRComment {
		return nil
	}
	// Each image's comment is tried: one that fails does not keep the others' off the pull
	// request; the first failure is the warning, with how many more failed.
	var first error
	failed := 0
	for i, res := range rs {
		var md strings.Builder
		if err := markdown.Write(&md, res, markdown.Options{MaxSize: MaxComment - 1024}); err != nil {
			return err
		}
		if err := comment(ctx, h.getenv, st.Token, st.Images[i], md.String()); err != nil {
			if failed++; first == nil {
				first = err
			}
		}
	}
	switch {
	case failed > 1:
		return fmt.Errorf("pull request comment: %w (and %d more images' comments)", first, failed-1)
	case first != nil:
		return fmt.Errorf("pull request comment: %w", first)
	}
	return nil
}

// Complete ends the log's stopped section; the exit code sets the step's result.
func (h *Host) Complete(ci.Result, string) { h.log.resume() }

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

// stoppedLog writes untrusted text with workflow commands stopped: the first write after
// a command starts ::stop-commands::<token>, and resume ends it (::<token>::) before the
// host writes a command of its own. The token is random, so the text cannot end the
// section itself.
type stoppedLog struct {
	w       io.Writer
	token   string
	stopped bool
	midLine bool
}

func (l *stoppedLog) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !l.stopped {
		var buf [16]byte
		if _, err := rand.Read(buf[:]); err != nil {
			return 0, err
		}
		l.token = "imagegate-" + hex.EncodeToString(buf[:])
		if _, err := fmt.Fprintf(l.w, "::stop-commands::%s\n", l.token); err != nil {
			return 0, err
		}
		l.stopped = true
	}
	l.midLine = p[len(p)-1] != '\n'
	return l.w.Write(p)
}

func (l *stoppedLog) resume() {
	if !l.stopped {
		return
	}
	if l.midLine {
		io.WriteString(l.w, "\n")
	}
	fmt.Fprintf(l.w, "::%s::\n", l.token)
	l.stopped, l.midLine = false, false
}
