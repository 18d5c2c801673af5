package termout

import "testing"

// TestString: control characters, bidi overrides and invalid UTF-8 are
// escaped, printable text (non-ASCII letters too) is kept.
func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Émile Zoë 李", "Émile Zoë 李"},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"\x1b[2J", `\x1b[2J`},
		{"a\nb\rc\td", `a\nb\rc\td`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b2J", `c1\u009b2J`},
		{"abc\u202edcba", `abc\u202edcba`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"", ""},
	} {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Block("A:\x1b[2J\r\nB:x\r\n"); got != "A:\\x1b[2J\nB:x\n" {
		t.Errorf("Block: %q", got)
	}
	if got := JSON([]byte(`{"fn":"x` + "\u009b\u202e\x7f" + `"}`)); got != `{"fn":"x\u009b\u202e\u007f"}` {
		t.Errorf("JSON: %s", got)
	}
}
