// Package failure classifies errors into the documented exit codes.
//
// Every error that reaches a front end is either an input problem (the user can fix it by
// changing what they pass: a path, a reference, a flag, credentials, a malformed image) or
// an incomplete scan (the environment failed: the network, the disk, a timeout, missing
// data). Code maps an error to the process exit code.
package failure

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes, as documented in the README.
const (
	ExitPass       = 0 // no finding at or above the threshold (or fail-on-issues off)
	ExitFindings   = 1 // findings at or above the threshold with fail-on-issues
	ExitInput      = 2 // usage or input error
	ExitIncomplete = 3 // the scan could not complete
)

// Kind says which exit code an error maps to.
type Kind int

const (
	// KindInput is a usage or input error (exit 2).
	KindInput Kind = iota + 1
	// KindIncomplete is a scan that could not complete (exit 3).
	KindIncomplete
)

// Error carries a Kind next to the wrapped error, and the setting that fixes it, if any.
type Error struct {
	Kind Kind
	Err  error
	// Setting names what the user can change to fix the error by its CLI flag name ("db",
	// "platform"); the core never spells it, each front end does in its own words (a flag,
	// an Action input, a task input). See Explain.
	Setting string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Input marks err as a usage or input error. A nil err stays nil.
func Input(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: KindInput, Err: err}
}

// Inputf formats an input error.
func Inputf(format string, args ...any) error { return Input(fmt.Errorf(format, args...)) }

// Incomplete marks err as a scan that could not complete. A nil err stays nil.
func Incomplete(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: KindIncomplete, Err: err}
}

// Incompletef formats an incomplete-scan error.
func Incompletef(format string, args ...any) error {
	return Incomplete(fmt.Errorf(format, args...))
}

// WithSetting records that changing setting (a CLI flag name, without dashes) fixes err.
// A nil err stays nil.
func WithSetting(err error, setting string) error {
	if err == nil {
		return nil
	}
	kind := KindIncomplete
	var e *Error
	if errors.As(err, &e) {
		kind = e.Kind
	}
	return &Error{Kind: kind, Err: err, Setting: setting}
}

// SettingOf returns the setting that fixes err: the outermost one recorded, or "".
func SettingOf(err error) string {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Setting != "" {
			return e.Setting
		}
		err = errors.Unwrap(err)
	}
	return ""
}

// Explain is err's message for a user, with the setting that fixes it spelled by the
// front end (spell("db") is "--db" for the CLI, "the db-path input" for the Action).
func Explain(err error, spell func(setting string) string) string {
	msg := err.Error()
	if s := SettingOf(err); s != "" {
		msg += " (set " + spell(s) + ")"
	}
	return msg
}

// Code returns the exit code for err: 0 for nil, 2 for input errors, 3 for everything else
// (an unclassified error means the scan did not complete).
func Code(err error) int {
	if err == nil {
		return ExitPass
	}
	var e *Error
	if errors.As(err, &e) && e.Kind == KindInput {
		return ExitInput
	}
	return ExitIncomplete
}

// OneLine folds a message onto one line (an error from a parser or a registry may span
// several): what a log line, an annotation title or a summary field takes.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
