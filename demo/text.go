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

// Help is the long help of `cardbridge demo`: what it starts, what it
// prints, who may connect and where its workspace is.
const Help = `Start everything cardbridge does, with no account and no configuration: a simulated Office 365 (graphsim, on a random loopback port)
holding a few hundred sample contacts, the built-in CardDAV server with a
user "demo" and a random password, its web page, and a pair that syncs the
two both ways every minute (and a few seconds after a phone or mail client
changes the address book). The first sync shows a progress bar on a
terminal; then the web URL, the CardDAV URL and the credentials are
printed. It listens on this computer only, unless --listen 0.0.0.0:5232
lets phones on the same network in (plain HTTP: a warning says so); then
it prints this machine's network addresses for them. Ctrl-C stops it all.
The workspace (configuration, state) is a temporary folder removed at
exit, unless --dir names one to keep.`
