package termout

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestReadPasswordFromPipe: off a terminal the password is one line
// without its line end (CRLF too), a last line without one included; the
// prompt stays silent.
func TestReadPasswordFromPipe(t *testing.T) {
	for in, want := range map[string]string{"secret pw\n": "secret pw", "crlf\r\nnext\n": "crlf", "no end": "no end", "": ""} {
		var prompt bytes.Buffer
		got, err := ReadPassword(strings.NewReader(in), &prompt, "dora")
		if err != nil || got != want || prompt.Len() != 0 {
			t.Errorf("ReadPassword(%q) = %q, %v (prompt %q), want %q", in, got, err, prompt.String(), want)
		}
	}
}

// TestNewLogger: the level (raised to error by quiet) and the format;
// a bad one names its flag.
func TestNewLogger(t *testing.T) {
	var b bytes.Buffer
	l, err := NewLogger(&b, "warn", "json", false)
	if err != nil || l.Enabled(context.Background(), slog.LevelInfo) || !l.Enabled(context.Background(), slog.LevelWarn) {
		t.Fatalf("warn: %v", err)
	}
	l.Warn("hi")
	if !strings.HasPrefix(b.String(), `{"time":`) {
		t.Errorf("json: %s", b.String())
	}
	if l, _ := NewLogger(&b, "debug", "text", true); l.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("quiet logs warnings")
	}
	for _, tc := range [][2]string{{"loud", "text"}, {"info", "xml"}} {
		if _, err := NewLogger(&b, tc[0], tc[1], false); err == nil || !strings.Contains(err.Error(), "--log-") {
			t.Errorf("%v: %v", tc, err)
		}
	}
}
