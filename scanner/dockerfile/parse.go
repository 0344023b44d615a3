// Package dockerfile parses Dockerfiles with BuildKit's own parser and checks them against
// the best practices hadolint and dockle users expect, each finding on its line.
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// MaxSize bounds the Dockerfiles read (real ones are a few KiB).
const MaxSize = 16 << 20

// MaxInstructions bounds the instructions of a Dockerfile (real ones have tens): BuildKit's
// parser keeps a node of ~400 bytes per instruction, and the rules look at each, so a
// file of short lines at MaxSize would take gigabytes. Counted before the parse as the
// lines that can begin an instruction (not blank, not a comment, not a continuation),
// here-document lines included.
const MaxInstructions = 50_000

// Instruction is one instruction of a Dockerfile.
type Instruction struct {
	// Cmd is the instruction keyword, lower case: "run", "copy", ...
	Cmd string
	// Args are the arguments as BuildKit splits them (for RUN in shell form, one string).
	Args []string
	// Flags are the --flags written after the keyword.
	Flags []string
	// JSON says the exec (JSON array) form was used.
	JSON bool
	// Heredocs are the here-documents attached to the instruction.
	Heredocs []parser.Heredoc
	// Original is the source text of the instruction.
	Original string
	// StartLine and EndLine are 1-based; a continued instruction spans several lines.
	StartLine, EndLine int
	// Stage is the index of the stage the instruction belongs to (-1 before the first FROM).
	Stage int
	// Comments are the comment lines directly above the instruction.
	Comments []string
	// ParseError is BuildKit's verdict on the instruction, when it is not valid.
	ParseError error
	node       *parser.Node
}

// Flag returns the value of --name=value, and whether the flag is there.
func (i *Instruction) Flag(name string) (string, bool) {
	for _, f := range i.Flags {
		f = strings.TrimPrefix(f, "--")
		if f == name {
			return "", true
		}
		if k, v, ok := strings.Cut(f, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// Stage is a build stage: a FROM and what follows it.
type Stage struct {
	Index int
	// Name is the AS name, lower case ("" when unnamed).
	Name string
	// Base is the FROM image with build args substituted; BaseRaw is as written.
	Base, BaseRaw string
	From          *Instruction
	Instructions  []*Instruction
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Path string
	// Instructions in file order, FROMs included.
	Instructions []*Instruction
	Stages       []*Stage
	// MetaArgs are the ARGs before the first FROM, with their defaults.
	MetaArgs map[string]string
	// Escape is the escape character (directive "escape"); Syntax the "syntax" directive.
	Escape rune
	Syntax string
	// Warnings are BuildKit's parser warnings (empty continuation lines, ...).
	Warnings []parser.Warning
	lines    []string
	byName   map[string]*Stage
}

// Final returns the last stage (the image that is built by default), or nil.
func (d *Dockerfile) Final() *Stage {
	if len(d.Stages) == 0 {
		return nil
	}
	return d.Stages[len(d.Stages)-1]
}

// StageByName finds a stage by AS name or by index ("0", "1", ...).
func (d *Dockerfile) StageByName(name string) *Stage {
	if d.byName == nil {
		d.byName = map[string]*Stage{}
		for i := len(d.Stages) - 1; i >= 0; i-- { // the first stage of a name wins
			s := d.Stages[i]
			d.byName[strconv.Itoa(s.Index)] = s
			if s.Name != "" {
				d.byName[s.Name] = s
			}
		}
	}
	return d.byName[strings.ToLower(name)]
}

// ParseFile reads and parses the Dockerfile at path.
func ParseFile(path string) (*Dockerfile, error) {
	data, err := userfile.Read(path, "dockerfile", MaxSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses Dockerfile source. Errors are input errors that name the file and line.
func Parse(path string, data []byte) (*Dockerfile, error) {
	if len(data) > MaxSize {
		return nil, failure.Inputf("dockerfile %s: %d bytes is over the %d-byte limit", path, len(data), MaxSize)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		line := bytes.Count(data[:bytes.IndexByte(data, 0)], []byte("\n")) + 1
		return nil, failure.Inputf("dockerfile %s:%d: not a text file (NUL byte)", path, line)
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		return nil, failure.Inputf("dockerfile %s:%d: not valid UTF-8 text", path, line)
	}
	if n := instructionLines(data, MaxInstructions); n > MaxInstructions {
		return nil, failure.Inputf("dockerfile %s: more than %d instruction lines, over the limit", path, MaxInstructions)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, failure.Inputf("dockerfile %s: %s", path, parseErrorText(err))
	}
	if len(res.AST.Children) == 0 {
		return nil, failure.Inputf("dockerfile %s: no instructions (empty file)", path)
	}
	d := &Dockerfile{
		Path:     path,
		MetaArgs: map[string]string{},
		Escape:   res.EscapeToken,
		Warnings: res.Warnings,
		lines:    strings.Split(string(data), "\n"),
	}
	d.Syntax = directive(d.lines, "syntax")
	lex := shell.NewLex(res.EscapeToken)
	stage := -1
	for _, n := range res.AST.Children {
		inst := newInstruction(n, d.lines)
		if inst.Cmd == "run" {
			if err := checkShell(inst); err != nil {
				return nil, failure.Inputf("dockerfile %s:%d: %w", path, inst.StartLine, err)
			}
		}
		if _, err := instructions.ParseInstruction(n); err != nil {
			inst.ParseError = err
		}
		if inst.Cmd == "from" {
			stage++
			s := &Stage{Index: stage, From: inst}
			if len(inst.Args) > 0 {
				s.BaseRaw = inst.Args[0]
				// Substitute the ARGs defined before FROM; a variable without a value (set by
				// --build-arg or the builder, like TARGETOS) leaves the reference unresolved.
				s.Base = s.BaseRaw
				if r, err := lex.ProcessWordWithMatches(s.BaseRaw, shell.EnvsFromSlice(envList(d.MetaArgs))); err == nil && len(r.Unmatched) == 0 {
					s.Base = r.Result
				}
			}
			if len(inst.Args) >= 3 && strings.EqualFold(inst.Args[1], "as") {
				s.Name = strings.ToLower(inst.Args[2])
			}
			d.Stages = append(d.Stages, s)
		}
		inst.Stage = stage
		if stage < 0 && inst.Cmd == "arg" {
			for _, a := range inst.Args {
				if k, v, ok := strings.Cut(a, "="); ok && v != "" {
					d.MetaArgs[k] = strings.Trim(v, `"'`)
				}
			}
		}
		if stage >= 0 && inst.Cmd != "from" {
			d.Stages[stage].Instructions = append(d.Stages[stage].Instructions, inst)
		}
		d.Instructions = append(d.Instructions, inst)
	}
	if len(d.Stages) == 0 {
		return nil, failure.Inputf("dockerfile %s: no FROM instruction", path)
	}
	return d, nil
}

// instructionLines counts, up to past limit, the lines of data that can begin an
// instruction: not blank, not a comment, and not continuing a line that ends with the
// escape character (the escape directive's, as BuildKit reads it). It never counts fewer
// than BuildKit parses: here-document lines count too.
func instructionLines(data []byte, limit int) int {
	escape := byte('\\')
	head := data[:min(len(data), 4096)]
	if directive(strings.Split(string(head), "\n"), "escape") == "`" {
		escape = '`'
	}
	n, continued := 0, false
	for len(data) > 0 && n <= limit {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' && !continued {
			n++
		}
		if len(t) > 0 && t[0] != '#' {
			continued = t[len(t)-1] == escape
		}
	}
	return n
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// parseErrorText keeps BuildKit's message and the line it names on one line.
func parseErrorText(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	var loc interface{ Location() []parser.Range }
	if errors.As(err, &loc) {
		if r := loc.Location(); len(r) > 0 && !strings.Contains(msg, "line") {
			return fmt.Sprintf("line %d: %s", r[0].Start.Line, msg)
		}
	}
	return msg
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// directive reads a parser directive (# syntax=..., # escape=...) from the file's top.
func directive(lines []string, name string) string {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "#") {
			return ""
		}
		k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "#")), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func newInstruction(n *parser.Node, lines []string) *Instruction {
	inst := &Instruction{
		Cmd:       strings.ToLower(n.Value),
		Flags:     n.Flags,
		JSON:      n.Attributes["json"],
		Heredocs:  n.Heredocs,
		Original:  n.Original,
		StartLine: n.StartLine,
		EndLine:   n.EndLine,
		Comments:  n.PrevComment,
		node:      n,
	}
	for a := n.Next; a != nil; a = a.Next {
		inst.Args = append(inst.Args, a.Value)
	}
	return inst
}

// lineText returns line n (1-based) of the source.
func (d *Dockerfile) lineText(n int) string {
	if n < 1 || n > len(d.lines) {
		return ""
	}
	return strings.TrimRight(d.lines[n-1], "\r")
}
