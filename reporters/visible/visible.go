// Package visible makes text from an image safe for a terminal or a plain log: control
// characters (escape sequences, carriage returns, backspaces, bidirectional overrides)
// are shown as escapes (\x1b, \r, \u202e) instead of acting on the screen.
package visible

import (
	"fmt"
	"strings"
	"unicode"
)

// String shows every control or format character of s as an escape. Newlines too: one
// string never makes two lines.
func String(s string) string {
	clean := true
	for _, r := range s {
		if needs(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == unicode.ReplacementChar:
			b.WriteRune(r)
		case r < 0x100 && needs(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case needs(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Lines is String for text whose line breaks are meant (an annotation's message): each
// line is shown as String shows it, and the breaks stay.
func Lines(s string) string {
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = String(p)
	}
	return strings.Join(parts, "\n")
}

func needs(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
