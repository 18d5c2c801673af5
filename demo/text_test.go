package demo

import (
	"strings"
	"testing"
)

// TestInstructions: the demo's text names the web page, the CardDAV,
// principal and book URLs of its address, the user and the password, the
// phones' text, the simulated Office 365's user and its configuration
// file; the intro the mailbox and the number of contacts.
func TestInstructions(t *testing.T) {
	w := &Workspace{Dir: "/tmp/cb-demo", Listen: "127.0.0.1:5299", Password: "pw-1234", Contacts: 42}
	text := w.Instructions()
	for _, s := range []string{
		"\nThe demo is running.\n\n",
		"  Web page:      http://127.0.0.1:5299/ui/\n",
		"  CardDAV:       http://127.0.0.1:5299/  (mail clients",
		"  Principal:     http://127.0.0.1:5299/principals/" + User + "/\n",
		"  Address book:  http://127.0.0.1:5299/addressbooks/" + User + "/contacts/\n",
		"  User name:     " + User + "\n",
		"  Password:      pw-1234\n\n" + w.PhoneText() + "\n\"Connect Office 365\"",
		"as " + Mailbox + " with the same password.",
		"Try: cardbridge --config /tmp/cb-demo/config.yaml status\nPress Ctrl-C to stop.\n",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("lacks %q:\n%s", s, text)
		}
	}
	if got, want := w.Intro(), "cardbridge demo: a simulated Office 365 with 42 contacts ("+Mailbox+") <-> the built-in CardDAV server (user "+User+")\n"; got != want {
		t.Errorf("intro %q, want %q", got, want)
	}
}
