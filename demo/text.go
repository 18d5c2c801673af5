package demo

import (
	"fmt"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/web"
)

// Intro is the first line the demo prints, before its first sync.
func (w *Workspace) Intro() string {
	return fmt.Sprintf("cardbridge demo: a simulated Office 365 with %d contacts (%s) <-> the built-in CardDAV server (user %s)\n",
		w.Contacts, Mailbox, User)
}

// Instructions is what the demo prints once its server answers: the web
// page, the CardDAV URLs and the credentials, how phones connect
// (PhoneText), how to sign in to the simulated Office 365, and how to stop.
func (w *Workspace) Instructions() string {
	base := w.BaseURL()
	return fmt.Sprintf(`
The demo is running.

  Web page:      %s%s
  CardDAV:       %s/  (mail clients on this computer find the address book from there)
  Principal:     %s/principals/%s/
  Address book:  %s/addressbooks/%s/%s/
  User name:     %s
  Password:      %s

%s
"Connect Office 365" on the web page signs in to the simulated Office 365
as %s with the same password.

Changes made on either side sync within a minute, and a few seconds after a
phone or mail client changes the address book.
Try: cardbridge --config %s status
Press Ctrl-C to stop.
`, base, web.Prefix, base, base, User, base, User, state.DefaultAddressBook, User, w.Password, w.PhoneText(), Mailbox, w.ConfigFile())
}
