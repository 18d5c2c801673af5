package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/cardbridge/cardbridge/state"
)

// devicesData is the content of the Devices page: the user's app
// passwords and, right after one was made, its token (shown this once).
type devicesData struct {
	Passwords []state.AppPassword
	Max       int
	// New is the app password just made, with its token; nil otherwise.
	New *newAppPassword
	// Name is the name typed in the form, given back when it was refused.
	Name      string
	ServerURL string // the CardDAV server's root, for the setup hint
}

// newAppPassword is an app password just made.
type newAppPassword struct {
	Name, Token string
}

// devicesPage lists the signed-in user's app passwords with their creation
// and last use, a form to make one and a button to revoke each.
func (h *Handler) devicesPage(w http.ResponseWriter, r *http.Request, s *session) {
	flash := ""
	if n := r.URL.Query().Get("revoked"); n != "" {
		flash = "The app password “" + n + "” is revoked: the device using it is refused from its next request."
	}
	h.renderDevices(w, r, s, http.StatusOK, devicesData{}, flash, "")
}

// renderDevices renders the Devices page with d, its list read anew.
func (h *Handler) renderDevices(w http.ResponseWriter, r *http.Request, s *session, status int, d devicesData, flash, msg string) {
	ps, err := h.o.Pairs.AppPasswords(r.Context(), s.User)
	if err != nil {
		h.internal(w, r, s, "listing the app passwords", err)
		return
	}
	d.Passwords, d.Max = ps, state.MaxAppPasswords
	base, _ := h.phoneBase(r)
	d.ServerURL = base.String()
	h.render(w, status, "devices", view{Title: "Devices", User: s.User, CSRF: s.CSRF, Flash: flash, Error: msg, Section: "devices", Data: d})
}

// createAppPassword makes an app password named by the form's "name" and
// shows its token once, in this answer only (not in a redirect's URL,
// never stored in clear).
func (h *Handler) createAppPassword(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PostForm.Get("name")
	if err := state.CheckAppPasswordName(name); err != nil {
		h.renderDevices(w, r, s, http.StatusBadRequest, devicesData{Name: name}, "", "Choose another name: "+err.Error()+".")
		return
	}
	tok, err := h.o.Pairs.AddAppPassword(r.Context(), s.User, name)
	switch {
	case errors.Is(err, state.ErrExists):
		h.renderDevices(w, r, s, http.StatusConflict, devicesData{Name: name}, "", "You have an app password named “"+name+"” already: revoke it first, or choose another name.")
		return
	case errors.Is(err, state.ErrTooMany):
		h.renderDevices(w, r, s, http.StatusConflict, devicesData{Name: name}, "", "You have the most app passwords allowed: revoke one you no longer use first.")
		return
	case err != nil:
		h.internal(w, r, s, "making the app password", err)
		return
	}
	h.log.Info("web: app password made", "user", s.User, "name", name)
	h.renderDevices(w, r, s, http.StatusOK, devicesData{New: &newAppPassword{Name: name, Token: tok}}, "", "")
}

// revokeAppPassword revokes the app password named by the form's "name".
func (h *Handler) revokeAppPassword(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PostForm.Get("name")
	err := h.o.Pairs.RevokeAppPassword(r.Context(), s.User, name)
	if errors.Is(err, state.ErrNotFound) {
		h.renderDevices(w, r, s, http.StatusNotFound, devicesData{}, "", "You have no app password named “"+name+"”; nothing was revoked.")
		return
	}
	if err != nil {
		h.internal(w, r, s, "revoking the app password", err)
		return
	}
	h.log.Info("web: app password revoked", "user", s.User, "name", name)
	http.Redirect(w, r, Prefix+"devices?revoked="+url.QueryEscape(name), http.StatusSeeOther)
}
