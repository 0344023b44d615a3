package markdown

import (
	"net/url"
	"strings"
	"unicode"
)

// The summary's one escaping layer: every string that comes from the image, a package, an
// advisory or the Dockerfile goes through text, code or link, so that it shows as written
// and can neither add Markdown or HTML (a heading, a comment that hides the verdict, a
// link) nor leave its table cell.

// Text and Code are that layer for the other Markdown imagegate writes (the registry
// scan's summary): see text and code.
func Text(s string) string { return text(s) }

// Code renders s as an inline code span s cannot close.
func Code(s string) string { return code(s) }

// text escapes s as Markdown text in a table cell, where it never starts a line: what could
// make HTML (a tag, a comment), a link or image, a code span or a new cell is escaped,
// line breaks become spaces and other control characters are dropped. (Emphasis is left:
// it cannot hide or add anything.)
func text(s string) string {
	var b strings.Builder
	for _, r := range clean(s) {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '[', ']', '|':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// code renders s as an inline code span that s cannot close: the fence is one backtick
// longer than the longest run in s, and | is escaped for GFM tables.
func code(s string) string {
	s = strings.ReplaceAll(clean(s), "|", "\\|")
	if s == "" {
		return "" // `` is no code span
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// link renders label as a link to target when target is an http(s) URL, else as text.
func link(label, target string) string {
	u, err := url.Parse(strings.TrimSpace(target))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return text(label)
	}
	return "[" + text(label) + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E", "|", "%7C", "`", "%60").Replace(u.String()) + ")"
}

// clean turns line breaks and tabs into spaces and drops other control characters.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return -1
		}
		return r
	}, s)
}

// cell keeps imagegate's own Markdown (a rule's fix, with its code spans) in one cell.
func cell(s string) string { return strings.ReplaceAll(clean(s), "|", "\\|") }
