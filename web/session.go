package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/state"
)

// cookieName is the session cookie.
const cookieName = "cardbridge_session"

// touchEvery is how often a session's use is written back (its idle
// expiry moves at most this late).
const touchEvery = time.Minute

// session is a signed-in request's session.
type session struct {
	state.WebSession
}

// randomToken is n random bytes, base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken is the hex SHA-256 of a cookie or state value: what the state
// database keeps.
func hashToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// signInURL is the sign-in page with a message code (see loginMessage).
func signInURL(msg string) string {
	return Prefix + "login?m=" + url.QueryEscape(msg)
}

// loginMessage is the notice the sign-in page shows for ?m=code.
func loginMessage(code string) string {
	switch code {
	case "expired":
		return "Your session has ended or is not valid. Sign in again."
	case "signedout":
		return "You are signed out."
	}
	return ""
}

// withSession runs next for a request with a valid session; other
// requests go to the sign-in page with a message. For a POST, the form's
// CSRF token must be the session's (403 otherwise).
func (h *Handler) withSession(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := h.session(r)
		if !ok {
			target := Prefix + "login"
			if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
				target = signInURL("expired") // a session that ended, or a forged one
				h.clearCookie(w)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				h.fail(w, r, s, http.StatusBadRequest, "Bad request", "The form could not be read.")
				return
			}
			got := r.PostForm.Get("csrf")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
				h.log.Warn("web: CSRF token mismatch", "user", s.User, "path", r.URL.Path)
				h.fail(w, r, s, http.StatusForbidden, "Request refused",
					"This form does not belong to your session (the CSRF token does not match); nothing was changed. Reload the page and try again.")
				return
			}
		}
		next(w, r, s)
	}
}

// session finds the request's session and records its use.
func (h *Handler) session(r *http.Request) (*session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, false
	}
	now := h.o.Now()
	ws, err := h.o.DB.WebSession(r.Context(), hashToken(c.Value), now)
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) {
			h.log.Error("web: reading the session", "err", err)
		}
		return nil, false
	}
	end := ws.Created.Add(h.o.SessionLifetime)
	if !now.Before(end) {
		// Past its absolute lifetime (a session made before the lifetime
		// was shortened, or whose expiry was not clamped): it ends now.
		if err := h.o.DB.DeleteWebSession(r.Context(), ws.IDHash); err != nil {
			h.log.Warn("web: ending a session past its lifetime", "err", err)
		}
		return nil, false
	}
	if now.Sub(ws.Seen) >= touchEvery {
		if err := h.o.DB.TouchWebSession(r.Context(), ws.IDHash, now, minTime(now.Add(h.o.SessionIdle), end)); err != nil {
			h.log.Warn("web: recording the session's use", "err", err)
		}
	}
	return &session{ws}, true
}

// minTime is the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// setCookie sets the session cookie.
func (h *Handler) setCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: Prefix, HttpOnly: true,
		Secure: h.o.Secure, SameSite: http.SameSiteLaxMode})
}

// clearCookie removes the session cookie.
func (h *Handler) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		Secure: h.o.Secure, SameSite: http.SameSiteLaxMode})
}

// loginPage shows the sign-in form.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.session(r); ok {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	h.render(w, http.StatusOK, "login", h.loginView(view{Title: "Sign in", Flash: loginMessage(r.URL.Query().Get("m"))}))
}

// login checks the CardDAV credentials and starts a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.render(w, http.StatusBadRequest, "login", h.loginView(view{Title: "Sign in", Error: "The form could not be read."}))
		return
	}
	if !h.allowHost(r.Host) {
		// A page of another site whose name resolves to this server (DNS
		// rebinding) would send its own name as Host.
		h.log.Warn("web: sign-in to a foreign Host refused", "host", r.Host, "remote", r.RemoteAddr)
		h.render(w, http.StatusForbidden, "login", h.loginView(view{Title: "Sign in", Error: "This sign-in was sent to a host name this server does not answer to (" + r.Host + "); nothing was done. Sign in at " + h.base + Prefix + "."}))
		return
	}
	if !h.sameOrigin(r) {
		// No session yet, so no CSRF token: a sign-in form posted from
		// another site (login CSRF) is refused by its Origin.
		h.render(w, http.StatusForbidden, "login", h.loginView(view{Title: "Sign in", Error: "This sign-in was sent from another site; nothing was done. Sign in from this page."}))
		return
	}
	if h.o.Config.Server.NoLocalPasswords {
		h.render(w, http.StatusForbidden, "login", h.loginView(view{Title: "Sign in",
			Error: "Signing in with a password is turned off on this server (server.local_passwords: false); nothing was checked. Use Sign in with Microsoft."}))
		return
	}
	user, pass := r.PostForm.Get("user"), r.PostForm.Get("password")
	d := authguard.Decision{Outcome: authguard.Denied}
	if user != "" {
		d = h.o.Guard.Check(r.Context(), h.o.Guard.ClientAddr(r), "web", user, pass)
	}
	switch d.Outcome {
	case authguard.Throttled:
		w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
		h.render(w, http.StatusTooManyRequests, "login", h.loginView(view{Title: "Sign in",
			Error: fmt.Sprintf("Too many failed sign-ins; nothing was checked. Try again in %d seconds.", d.RetryAfterSeconds())}))
		return
	case authguard.Busy, authguard.Unavailable:
		w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
		h.render(w, http.StatusServiceUnavailable, "login", h.loginView(view{Title: "Sign in",
			Error: fmt.Sprintf("The server is busy checking other sign-ins. Try again in %d seconds.", d.RetryAfterSeconds())}))
		return
	}
	if !d.OK() {
		if h.o.FailedLoginDelay > 0 {
			t := time.NewTimer(h.o.FailedLoginDelay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		h.render(w, http.StatusUnauthorized, "login", h.loginView(view{Title: "Sign in", Error: "Wrong user name or password."}))
		return
	}
	h.startSession(w, r, user)
}

// startSession creates a web session for user (who has just proved who
// they are), sets its cookie and sends the browser to the dashboard.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, user string) {
	h.startSessionTo(w, r, user, Prefix)
}

// startSessionTo is startSession landing on target (a path of the page).
func (h *Handler) startSessionTo(w http.ResponseWriter, r *http.Request, user, target string) {
	value, err := randomToken(32)
	if err != nil {
		h.internal(w, r, nil, "starting the session", err)
		return
	}
	csrf, err := randomToken(32)
	if err != nil {
		h.internal(w, r, nil, "starting the session", err)
		return
	}
	now := h.o.Now()
	if _, err := h.o.DB.PurgeWebSessions(r.Context(), now); err != nil {
		h.log.Warn("web: purging expired sessions", "err", err)
	}
	ws := state.WebSession{IDHash: hashToken(value), User: user, CSRF: csrf, Created: now, Seen: now,
		Expires: minTime(now.Add(h.o.SessionIdle), now.Add(h.o.SessionLifetime))}
	if err := h.o.DB.CreateWebSession(r.Context(), ws); err != nil {
		h.internal(w, r, nil, "starting the session", err)
		return
	}
	h.log.Info("web: signed in", "user", user)
	h.setCookie(w, value)
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// loginData is what the sign-in page shows besides the form.
type loginData struct {
	Passwords bool // the password form (not server.local_passwords: false)
	Microsoft bool // a "Sign in with Microsoft" button
}

// loginView is v with the sign-in page's data.
func (h *Handler) loginView(v view) view {
	v.Data = loginData{Passwords: !h.o.Config.Server.NoLocalPasswords, Microsoft: h.o.Config.Server.MicrosoftSignIn.Configured()}
	return v
}

// allowHost reports whether host (a request's Host) names this server.
func (h *Handler) allowHost(host string) bool {
	if h.o.AllowHost != nil {
		return h.o.AllowHost(host)
	}
	b, err := url.Parse(h.base)
	return err == nil && SameHost(host, b.Host, b.Scheme)
}

// SameHost reports whether the Host values a and b name the same host and
// port, case-insensitively, a missing port being scheme's default (80 for
// http, 443 for https).
func SameHost(a, b, scheme string) bool {
	norm := func(h string) string {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if _, _, err := net.SplitHostPort(h); err != nil {
			port := "80"
			if scheme == "https" {
				port = "443"
			}
			h = net.JoinHostPort(strings.Trim(h, "[]"), port)
		}
		host, port, _ := net.SplitHostPort(h)
		return net.JoinHostPort(strings.TrimSuffix(host, "."), port)
	}
	return a != "" && norm(a) == norm(b)
}

// sameOrigin reports whether a POST's Origin header, when the browser
// sent one, is this server: the request's host or the base URL's.
func (h *Handler) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser, or an old one: nothing to compare
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	b, err := url.Parse(h.base)
	return err == nil && strings.EqualFold(u.Host, b.Host) && u.Scheme == b.Scheme
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := h.o.DB.DeleteWebSession(r.Context(), s.IDHash); err != nil {
		h.internal(w, r, s, "signing out", err)
		return
	}
	h.clearCookie(w)
	http.Redirect(w, r, signInURL("signedout"), http.StatusSeeOther)
}
