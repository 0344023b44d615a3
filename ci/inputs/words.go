package inputs

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"mvdan.cc/sh/v3/syntax"
)

// plainWords checks that args is what additional-arguments takes: words with shell
// quoting and $VAR references, nothing the shell would run or redirect. It names the
// first construct it refuses (a process substitution, a pipe, a redirection, ...).
func plainWords(args string) error {
	f, err := syntax.NewParser().Parse(strings.NewReader(args), "")
	if err != nil {
		return fmt.Errorf("not shell words: %w", err)
	}
	if len(f.Stmts) != 1 {
		return fmt.Errorf("more than one command (a ';', '&' or newline between words); give the flags as one line of words")
	}
	st := f.Stmts[0]
	switch {
	case len(st.Redirs) > 0:
		return fmt.Errorf("a redirection (%s) is shell syntax it does not run", st.Redirs[0].Op)
	case st.Background || st.Coprocess || st.Negated:
		return fmt.Errorf("'&', 'coproc' or '!' is shell syntax it does not run")
	}
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok {
		return fmt.Errorf("%s is shell syntax it does not run; give flags as plain words", construct(st.Cmd))
	}
	if len(call.Assigns) > 0 {
		return fmt.Errorf("a variable assignment (%s=…) is shell syntax it does not run", call.Assigns[0].Name.Value)
	}
	for _, w := range call.Args {
		if syntax.SplitBraces(w) {
			return fmt.Errorf("a brace expansion ({…}) is shell syntax it does not run; quote the word")
		}
		for _, part := range w.Parts {
			if err := plainPart(part); err != nil {
				return err
			}
		}
	}
	return nil
}

func plainPart(part syntax.WordPart) error {
	switch p := part.(type) {
	case *syntax.Lit, *syntax.SglQuoted:
		return nil
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			if err := plainPart(q); err != nil {
				return err
			}
		}
		return nil
	case *syntax.ParamExp:
		if p.Param == nil || p.Excl || p.Length || p.Width || p.Index != nil || p.Slice != nil || p.Repl != nil || p.Names != 0 || p.Exp != nil {
			return fmt.Errorf("a parameter expansion with operators (${…}) is shell syntax it does not run; $NAME is kept as written")
		}
		return nil
	}
	return fmt.Errorf("%s is shell syntax it does not run; give flags as plain words", construct(part))
}

// construct names a piece of shell syntax for a message.
func construct(n syntax.Node) string {
	switch p := n.(type) {
	case *syntax.ProcSubst:
		return "a process substitution (" + p.Op.String() + "…)"
	case *syntax.CmdSubst:
		return "a command substitution ($(…) or `…`)"
	case *syntax.ArithmExp:
		return "an arithmetic expansion ($((…)))"
	case *syntax.ExtGlob:
		return "an extended glob (" + p.Op.String() + "…)"
	case *syntax.BraceExp:
		return "a brace expansion ({…})"
	case *syntax.BinaryCmd:
		return "'" + p.Op.String() + "' between commands"
	case *syntax.Subshell, *syntax.Block:
		return "a subshell or block"
	}
	return fmt.Sprintf("%T", n)[len("*syntax."):]
}

// relaxers are the settings whose every value but the default lets more through the gate,
// and what a value does.
var relaxers = []struct {
	flag string
	says func(v string) string
}{
	{"fail-on-issues", func(string) string { return "findings are reported, and the gate passes whatever they are" }},
	{"severity-threshold", func(v string) string { return "findings below " + v + " do not fail the gate" }},
	{"unknown-severity", func(v string) string { return "findings of unknown severity are gated as " + v }},
	{"allow-incomplete", func(string) string { return "a scan that did not analyse everything can pass" }},
	{"ignore-unfixed", func(string) string { return "vulnerabilities without a fixed version are left out" }},
	{"exclude-base", func(string) string { return "findings from the base image's layers are left out" }},
	{"baseline", func(string) string { return "findings already in that report do not fail the gate" }},
}

// relaxations says, for each setting that relaxes the gate (set to other than the flag's
// default), which input set it and what it does: a notice in the log, so that no
// relaxation passes without a trace. fromArgs are the flags named in additional-arguments.
func relaxations(fl *pflag.FlagSet, fromArgs map[string]bool, spell func(string) string) []string {
	var out []string
	for _, r := range relaxers {
		f := fl.Lookup(r.flag)
		if f == nil || !f.Changed || strings.EqualFold(f.Value.String(), f.DefValue) {
			continue
		}
		v := strings.ToLower(f.Value.String())
		by := "--" + r.flag + " in input " + spell("additional-arguments")
		if !fromArgs[r.flag] {
			for _, in := range Table {
				if in.Flag == r.flag {
					by = "input " + spell(in.Name)
				}
			}
		}
		shown := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			shown = strings.Join(sv.GetSlice(), ",") // not pflag's "[a,b]"
		}
		out = append(out, fmt.Sprintf("%s = %s relaxes the gate: %s", by, shown, r.says(v)))
	}
	return out
}
