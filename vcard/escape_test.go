package vcard

import "testing"

// TestRewriteEscapes: unescape and normURI, the two users of
// rewriteEscapes, decode the escapes they know and keep a backslash before
// anything else or at the end; normURI keeps \\ so that it is idempotent.
func TestRewriteEscapes(t *testing.T) {
	tests := []struct {
		in, unescaped, uri string
	}{
		{"plain", "plain", "plain"},
		{`a\,b\;c\:d`, "a,b;c:d", "a,b;c:d"},
		{`line\nnext\Nlast`, "line\nnext\nlast", `line\nnext\Nlast`},
		{`back\\slash`, `back\slash`, `back\\slash`},
		{`\x unknown`, `\x unknown`, `\x unknown`},
		{`trailing\`, `trailing\`, `trailing\`},
		{`\\\,`, `\,`, `\\,`},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := unescape(tt.in); got != tt.unescaped {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.unescaped)
		}
		got := normURI(tt.in)
		if got != tt.uri {
			t.Errorf("normURI(%q) = %q, want %q", tt.in, got, tt.uri)
		}
		if again := normURI(got); again != got {
			t.Errorf("normURI(normURI(%q)) = %q, want %q", tt.in, again, got)
		}
	}
}
