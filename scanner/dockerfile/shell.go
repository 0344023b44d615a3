package dockerfile

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Command is one simple command of a RUN script: `apt-get install -y curl`.
type Command struct {
	// Name is the program, without a leading sudo, env assignments or a path
	// (/usr/bin/apt-get -> apt-get).
	Name string
	// Args are the words after the name, unquoted where they are plain.
	Args []string
	// Sudo says the command was run through sudo.
	Sudo bool
}

// HasArg reports whether any argument equals one of want.
func (c Command) HasArg(want ...string) bool {
	for _, a := range c.Args {
		for _, w := range want {
			if a == w {
				return true
			}
		}
	}
	return false
}

// HasFlag reports whether a short flag letter appears in a cluster (-yq) or a long flag
// (--yes, --yes=...) is present.
func (c Command) HasFlag(short byte, long ...string) bool {
	for _, a := range c.Args {
		if short != 0 && len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.IndexByte(a[1:], short) >= 0 {
			return true
		}
		for _, l := range long {
			if a == l || strings.HasPrefix(a, l+"=") {
				return true
			}
		}
	}
	return false
}

// Subcommand returns the first argument that is not a flag, and the arguments after it.
func (c Command) Subcommand() (string, []string) {
	for i, a := range c.Args {
		if !strings.HasPrefix(a, "-") {
			return a, c.Args[i+1:]
		}
	}
	return "", nil
}

// Script is what a RUN instruction runs, split into commands.
type Script struct {
	Commands []Command
	// Pipelines lists the commands of each `a | b` pipeline, in order.
	Pipelines [][]Command
	// Pipefail says the script turns on `set -o pipefail` (or `set -euo pipefail`).
	Pipefail bool
	// OK is false when the shell text could not be parsed; rules then look no further.
	OK bool
}

// Has reports whether any command is named name.
func (s *Script) Has(name string) bool {
	for _, c := range s.Commands {
		if c.Name == name {
			return true
		}
	}
	return false
}

var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true}

// script returns the analysed shell of a RUN instruction: its shell form, the exec form
// of `sh -c "..."`, and heredoc bodies fed to a shell.
func (i *Instruction) script() *Script {
	s := &Script{OK: true}
	switch {
	case i.JSON:
		if len(i.Args) >= 3 && shells[path.Base(i.Args[0])] && i.Args[1] == "-c" {
			s.add(i.Args[2])
		} else if len(i.Args) > 0 {
			s.Commands = append(s.Commands, Command{Name: path.Base(i.Args[0]), Args: i.Args[1:]})
		}
	default:
		text := strings.Join(i.Args, " ")
		for _, h := range i.Heredocs {
			// RUN <<EOF (a script for the default shell) or RUN bash <<EOF.
			if fields := strings.Fields(strings.Split(text, "<<")[0]); len(fields) == 0 || shells[path.Base(fields[len(fields)-1])] {
				s.add(h.Content)
			}
		}
		if !strings.HasPrefix(strings.TrimSpace(text), "<<") {
			s.add(text)
		}
	}
	return s
}

var shParser = syntax.NewParser(syntax.Variant(syntax.LangBash))

// Limits on a RUN script, checked before the shell parser sees it: the parser recurses
// once per nesting level and per operator of a chain, so a script past them could
// exhaust the stack.
const (
	MaxShellNesting   = 256    // ( { and $( open at once
	MaxShellOperators = 50_000 // && || | ; in one script
)

// checkShell refuses a RUN whose script nests or chains past the limits.
func checkShell(i *Instruction) error {
	texts := []string{strings.Join(i.Args, " ")}
	for _, h := range i.Heredocs {
		texts = append(texts, h.Content)
	}
	for _, t := range texts {
		depth, deepest, ops := 0, 0, 0
		for j := 0; j < len(t); j++ {
			switch t[j] {
			case '(', '{':
				depth++
				deepest = max(deepest, depth)
			case ')', '}':
				depth = max(0, depth-1)
			case '|', '&', ';':
				ops++
			}
		}
		if deepest > MaxShellNesting {
			return fmt.Errorf("RUN nests subshells, groups or substitutions %d deep, over the limit of %d", deepest, MaxShellNesting)
		}
		if ops > MaxShellOperators {
			return fmt.Errorf("RUN chains %d shell operators, over the limit of %d", ops, MaxShellOperators)
		}
	}
	return nil
}

func (s *Script) add(src string) {
	f, err := shParser.Parse(strings.NewReader(src), "")
	if err != nil {
		s.OK = false
		return
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.BinaryCmd:
			if x.Op == syntax.Pipe || x.Op == syntax.PipeAll {
				var cmds []Command
				collectCalls(x, &cmds)
				s.Pipelines = append(s.Pipelines, cmds)
				s.Commands = append(s.Commands, cmds...)
				return false
			}
		case *syntax.CallExpr:
			if c, ok := callCommand(x); ok {
				s.Commands = append(s.Commands, c)
				if c.Name == "set" && setsPipefail(c.Args) {
					s.Pipefail = true
				}
			}
		}
		return true
	})
}

func setsPipefail(args []string) bool {
	for i, a := range args {
		if a == "pipefail" && i > 0 && strings.HasPrefix(args[i-1], "-") && strings.Contains(args[i-1], "o") {
			return true
		}
	}
	return false
}

func collectCalls(n syntax.Node, out *[]Command) {
	syntax.Walk(n, func(n syntax.Node) bool {
		if x, ok := n.(*syntax.CallExpr); ok {
			if c, ok := callCommand(x); ok {
				*out = append(*out, c)
			}
			return false
		}
		return true
	})
}

// callCommand turns a call into a Command, looking through sudo and env prefixes.
func callCommand(x *syntax.CallExpr) (Command, bool) {
	var words []string
	for _, w := range x.Args {
		words = append(words, wordText(w))
	}
	c := Command{}
	for len(words) > 0 {
		w := words[0]
		switch {
		case w == "sudo":
			c.Sudo = true
			words = words[1:]
			for len(words) > 0 && strings.HasPrefix(words[0], "-") { // sudo -u user ...
				if words[0] == "-u" || words[0] == "-g" {
					words = words[1:]
				}
				words = words[1:]
			}
			continue
		case w == "env" || w == "exec" || w == "command" || w == "nohup" || w == "time":
			words = words[1:]
			continue
		case strings.Contains(w, "=") && !strings.HasPrefix(w, "-") && c.Name == "":
			words = words[1:] // VAR=value cmd
			continue
		}
		break
	}
	if len(words) == 0 {
		return c, false
	}
	c.Name = path.Base(words[0])
	c.Args = words[1:]
	return c, true
}

// wordText renders a shell word: literal and quoted text as the shell would pass it,
// expansions as written.
func wordText(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		switch x := p.(type) {
		case *syntax.Lit:
			b.WriteString(x.Value)
		case *syntax.SglQuoted:
			b.WriteString(x.Value)
		case *syntax.DblQuoted:
			for _, q := range x.Parts {
				if l, ok := q.(*syntax.Lit); ok {
					b.WriteString(l.Value)
				} else {
					b.WriteString(printNode(q))
				}
			}
		default:
			b.WriteString(printNode(p))
		}
	}
	return b.String()
}

func printNode(n syntax.Node) string {
	var buf bytes.Buffer
	syntax.NewPrinter().Print(&buf, n)
	return buf.String()
}
