package web

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/state"
	qrcode "github.com/skip2/go-qrcode"
)

// qrSize is the width and height of the QR code image, in pixels.
const qrSize = 320

// phoneData is the content of a book's phone setup page.
type phoneData struct {
	Book            state.AddressBook
	Title           string // the book's display name, or its name
	ServerURL       string // the server's root as a phone reaches it
	BookURL         string // the book's CardDAV URL under it
	DAVx5URL        string // what the QR code holds
	Unreachable     string // why a phone cannot reach ServerURL ("" when it can)
	ListensLoopback bool   // server.listen is a loopback address
	Profile         string // the path of the profile download
}

// phoneBase is the server's root as a phone on the network reaches it:
// server.public_url when set to a host that is not this machine's
// loopback, else the scheme of this server and the Host the browser used
// (when it names this server), else BaseURL. unreachable says why a phone
// cannot use it: a loopback host ("" when it is not).
func (h *Handler) phoneBase(r *http.Request) (base *url.URL, unreachable string) {
	if pub, err := url.Parse(strings.TrimRight(h.o.Config.Server.PublicURL, "/")); err == nil && pub.Host != "" && loopbackHost(pub.Hostname()) == "" {
		return pub, ""
	}
	u, err := url.Parse(h.base)
	if err != nil || u.Host == "" {
		return &url.URL{}, "no server address"
	}
	if r.Host != "" && h.allowHost(r.Host) {
		u.Host = r.Host
	}
	return u, loopbackHost(u.Hostname())
}

// loopbackHost is host, lower-case, when it names this machine only
// (localhost, a loopback or unspecified address), else "".
func loopbackHost(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return host
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return host
	}
	return ""
}

// listensLoopback reports whether server.listen is a loopback address (the
// default 127.0.0.1:5232): no other machine can connect.
func (h *Handler) listensLoopback() bool {
	host, _, err := net.SplitHostPort(h.o.Config.Server.Listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// davx5URL is the URL DAVx5 (and other CardDAV apps that register the
// schemes) opens its login with, the user name filled in: carddavs://
// for https, carddav:// for plain http, and the server's root (DAVx5's
// manual, "Integration": a caldav(s):// or carddav(s):// intent).
func davx5URL(base *url.URL, user string) string {
	u := *base
	if u.Scheme == "https" {
		u.Scheme = "carddavs"
	} else {
		u.Scheme = "carddav"
	}
	u.User = url.User(user)
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String()
}

// title is what a book is called on a phone.
func title(b state.AddressBook) string {
	if b.DisplayName != "" {
		return b.DisplayName
	}
	return b.Name
}

// phonePage shows how to set up a phone for one of the user's books: the
// configuration profile for iPhone, iPad and Mac, the QR code and URLs for
// DAVx5 and other apps.
func (h *Handler) phonePage(w http.ResponseWriter, r *http.Request, s *session) {
	b, ok := h.userBook(w, r, s)
	if !ok {
		return
	}
	base, unreachable := h.phoneBase(r)
	root := strings.TrimRight(base.String(), "/")
	d := phoneData{Book: b, Title: title(b), ServerURL: root + "/", BookURL: root + "/addressbooks/" + url.PathEscape(s.User) + "/" + url.PathEscape(b.Name) + "/",
		DAVx5URL: davx5URL(base, s.User), Unreachable: unreachable, ListensLoopback: h.listensLoopback(),
		Profile: Prefix + "books/" + url.PathEscape(b.Name) + "/profile" + mobileconfigSuffix}
	h.render(w, http.StatusOK, "phone", view{Title: "Set up a phone", User: s.User, CSRF: s.CSRF, Section: "dashboard", Data: d})
}

// phoneQR is the PNG QR code of the DAVx5 URL of a book's server; 409
// when the page's host is one a phone cannot reach.
func (h *Handler) phoneQR(w http.ResponseWriter, r *http.Request, s *session) {
	if _, ok := h.userBook(w, r, s); !ok {
		return
	}
	base, unreachable := h.phoneBase(r)
	if unreachable != "" {
		h.fail(w, r, s, http.StatusConflict, "No QR code", "A phone cannot reach "+unreachable+"; see the setup page.")
		return
	}
	png, err := qrcode.Encode(davx5URL(base, s.User), qrcode.Medium, qrSize)
	if err != nil {
		h.internal(w, r, s, "drawing the QR code", err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

// phoneProfile answers a book's configuration profile: GET without a
// password (the phone asks for it when installing), POST with the
// password the user typed (checked first; a wrong one makes no profile).
func (h *Handler) phoneProfile(w http.ResponseWriter, r *http.Request, s *session) {
	b, ok := h.userBook(w, r, s)
	if !ok {
		return
	}
	base, unreachable := h.phoneBase(r)
	if unreachable != "" {
		h.fail(w, r, s, http.StatusConflict, "No profile", "A phone cannot reach "+unreachable+": a profile for it would not work. See the setup page.")
		return
	}
	p := profile{Server: base, User: s.User, Book: b.Name, Title: title(b)}
	if r.Method == http.MethodPost && r.PostForm.Get("include_password") != "" {
		pass := r.PostForm.Get("password")
		d := authguard.Decision{Outcome: authguard.Denied}
		if pass != "" {
			d = h.o.Guard.Check(r.Context(), h.o.Guard.ClientAddr(r), "web", s.User, pass)
		}
		switch {
		case d.Outcome == authguard.Throttled || d.Outcome == authguard.Busy || d.Outcome == authguard.Unavailable:
			h.fail(w, r, s, http.StatusTooManyRequests, "Try again later", "The password could not be checked now; no profile was made.")
			return
		case !d.OK():
			h.fail(w, r, s, http.StatusUnauthorized, "Wrong password", "That is not your password; no profile was made.")
			return
		}
		p.Password = pass
	}
	raw, err := mobileconfig(p)
	if err != nil {
		h.internal(w, r, s, "making the profile", err)
		return
	}
	w.Header().Set("Content-Type", mobileconfigType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "cardbridge-" + b.Name + mobileconfigSuffix}))
	w.Write(raw)
}
