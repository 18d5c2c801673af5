// Package termout is what cardbridge's CLI writes to a terminal besides
// plain lines: text that comes from cards or servers escaped so that it
// cannot act on the terminal (String, Block, JSON), the tables of the
// list commands (Table, Cell), time-stamped lines (StampWriter), and a
// progress bar for long runs that stays silent in pipes and logs
// (Progress).
package termout

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// String makes text that comes from cards (names, UIDs, hrefs, error
// messages quoting them) safe to print on a terminal: control characters
// (C0, DEL, C1), the bidirectional overrides and invalid UTF-8 are written
// as Go-style escapes (\x1b, \n, \u202e, \xff), so that a contact named with
// escape codes cannot retitle, clear or rewrite the terminal. Printable text,
// including non-ASCII letters, is kept as it is.
func String(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case isC1(r) || isBidi(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Block is String for multi-line text (a whole vCard): each line
// is escaped and the line breaks are kept (CRLF printed as LF).
func Block(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = String(strings.TrimSuffix(l, "\r"))
	}
	return strings.Join(lines, "\n")
}

// JSON escapes, in a line of JSON, what encoding/json leaves raw but a
// terminal may act on: DEL, C1 controls and bidirectional overrides (they
// only occur inside strings, where \uXXXX means the same character).
func JSON(line []byte) string {
	s := string(line)
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == 0x7f || isC1(r) || isBidi(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func needsEscape(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || isC1(r) || isBidi(r) {
			return true
		}
	}
	return false
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

// isBidi: the embedding, override and isolate controls (U+202A–U+202E,
// U+2066–U+2069), which reorder what is shown.
func isBidi(r rune) bool { return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 }
