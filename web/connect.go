package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/state"
)

// callbackPath is the redirect URI's path under the base URL.
const callbackPath = Prefix + "connect/callback"

// RedirectURI is the redirect URI to register in the Office 365 app of
// server.connect for a server whose public URL is baseURL.
func RedirectURI(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + callbackPath
}

// connectStart begins "Connect Office 365": a fresh state and PKCE
// verifier, kept with the session, and a redirect to the authorize page.
func (h *Handler) connectStart(w http.ResponseWriter, r *http.Request, s *session) {
	cc := h.o.Config.Server.Connect
	if !cc.Configured() {
		h.fail(w, r, s, http.StatusNotFound, "Office 365 is not set up",
			"This server has no Office 365 app: its administrator sets server.connect (client_id, tenant) in the configuration.")
		return
	}
	if !h.webAccountFree(w, r, s) {
		return
	}
	acc := cc.Account(AccountName(s.User))
	req, err := auth.NewAuthCodeRequest(acc, RedirectURI(h.base))
	if err != nil {
		h.internal(w, r, s, "preparing the Office 365 sign-in", err)
		return
	}
	now := h.o.Now()
	if err := h.o.DB.SaveOAuthState(r.Context(), state.OAuthState{StateHash: hashToken(req.State), SessionHash: s.IDHash,
		Verifier: req.Verifier, RedirectURI: req.RedirectURI, Created: now, Expires: now.Add(oauthLifetime)}); err != nil {
		h.internal(w, r, s, "preparing the Office 365 sign-in", err)
		return
	}
	http.Redirect(w, r, req.URL, http.StatusSeeOther)
}

// connectedData is the page after a successful connection.
type connectedData struct {
	Account    string
	As         string
	DefaultNew string
}

// connectCallback finishes "Connect Office 365": the state must be one
// this session started (used once), the authorize endpoint's error is
// shown as it is, and the code is redeemed and the tokens stored with the
// user's account. Nothing is stored on any failure.
func (h *Handler) connectCallback(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	q := r.URL.Query()
	cc := h.o.Config.Server.Connect
	if !cc.Configured() {
		h.fail(w, r, s, http.StatusNotFound, "Office 365 is not set up", "This server has no Office 365 app (server.connect).")
		return
	}
	st := q.Get("state")
	var pending state.OAuthState
	var err error
	if st != "" {
		pending, err = h.o.DB.TakeOAuthState(ctx, hashToken(st), s.IDHash, h.o.Now())
	}
	if st == "" || errors.Is(err, state.ErrNotFound) {
		h.log.Warn("web: connect callback with a state this session did not start", "user", s.User)
		h.fail(w, r, s, http.StatusBadRequest, "Connection refused",
			"This answer does not belong to a sign-in you started here (state mismatch, or it was used or expired). Nothing was stored; start again with \"Connect Office 365\".")
		return
	}
	if err != nil {
		h.internal(w, r, s, "checking the sign-in", err)
		return
	}
	if e := q.Get("error"); e != "" {
		oe := auth.AuthorizeError(e, q.Get("error_description"), q.Get("code"))
		msg := "The sign-in page answered " + oe.Code + ": " + oe.Description + " Nothing was stored."
		if oe.Hint != "" {
			msg += " To fix: " + oe.Hint + "."
		}
		h.fail(w, r, s, http.StatusBadRequest, "Office 365 did not connect", msg)
		return
	}
	code := q.Get("code")
	if code == "" {
		h.fail(w, r, s, http.StatusBadRequest, "Office 365 did not connect", "The answer has neither a code nor an error. Nothing was stored.")
		return
	}
	if !h.webAccountFree(w, r, s) {
		return
	}
	acc := cc.Account(AccountName(s.User))
	// The account becomes the user's before any token is stored under it;
	// tokens an earlier owner left (a removed namesake) are deleted first.
	if err := h.o.DB.ClaimWebAccount(ctx, acc.Name, s.User); err != nil {
		h.internal(w, r, s, "preparing the Office 365 connection", err)
		return
	}
	id, err := auth.RedeemCode(ctx, acc, auth.StateStore{DB: h.o.DB}, code,
		auth.AuthCodeRequest{RedirectURI: pending.RedirectURI, Verifier: pending.Verifier}, auth.LoginOptions{HTTPClient: h.o.HTTPClient, Logger: h.log})
	if err != nil {
		h.log.Warn("web: redeeming the code", "user", s.User, "err", err) // auth's errors hold no secret
		h.fail(w, r, s, http.StatusBadGateway, "Office 365 did not connect",
			"Office 365 refused the sign-in: "+err.Error()+". Nothing was stored; try \"Connect Office 365\" again.")
		return
	}
	h.log.Info("web: Office 365 connected", "user", s.User, "account", acc.Name, "as", id.User)
	books, err := h.o.DB.AddressBooks(ctx, s.User)
	if err != nil {
		h.internal(w, r, s, "listing the address books", err)
		return
	}
	h.render(w, http.StatusOK, "connected", view{Title: "Office 365 connected", User: s.User, CSRF: s.CSRF, Section: "dashboard",
		Data: connectedData{Account: acc.Name, As: id.User, DefaultNew: h.freeBookName(books)}})
}

// createPair makes the pair "the connected account's default folder ⇄ a
// new address book" and starts running it.
func (h *Handler) createPair(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	account := AccountName(s.User)
	if !h.pairsConfigured() {
		h.fail(w, r, s, http.StatusNotFound, "Office 365 is not set up", "This server has no Office 365 app (server.connect, or server.microsoft_sign_in with contacts: true).")
		return
	}
	if ok, err := h.connected(ctx, s.User); err != nil {
		h.internal(w, r, s, "reading the Office 365 connection", err)
		return
	} else if !ok {
		h.fail(w, r, s, http.StatusBadRequest, "Not connected", "Connect Office 365 first; nothing was created.")
		return
	}
	book := strings.TrimSpace(r.PostForm.Get("book"))
	display := strings.TrimSpace(r.PostForm.Get("display"))
	if !bookNameRE.MatchString(book) {
		h.fail(w, r, s, http.StatusBadRequest, "Bad address book name",
			fmt.Sprintf("%q cannot name an address book: use lower-case letters, digits, - and _ (up to 63), starting with a letter or digit. Nothing was created.", book))
		return
	}
	if len(display) > 200 {
		h.fail(w, r, s, http.StatusBadRequest, "Bad display name", "The display name is longer than 200 characters. Nothing was created.")
		return
	}
	if display == "" {
		display = "Office 365"
	}
	policy := r.PostForm.Get("conflict")
	switch policy {
	case "":
		policy = "merge"
	case "merge", "manual":
	default:
		h.fail(w, r, s, http.StatusBadRequest, "Bad conflict choice", fmt.Sprintf("%q: choose merge or manual. Nothing was created.", policy))
		return
	}
	name := pairName(s.User, book)
	if _, taken := h.o.Config.Pairs[name]; taken {
		h.fail(w, r, s, http.StatusConflict, "Name taken", "A configured pair is called "+name+"; choose another book name. Nothing was created.")
		return
	}
	if _, taken := h.o.Config.Accounts[account]; taken {
		h.fail(w, r, s, http.StatusConflict, "Account name taken",
			"The configuration has an account called "+account+", which the web connection would shadow; ask the administrator to rename it. Nothing was created.")
		return
	}
	wp := state.WebPair{Name: name, User: s.User, Account: account, Addressbook: book, Conflict: policy, Every: DefaultEvery}
	name, err := h.o.DB.CreateWebPair(ctx, wp, display)
	if err != nil {
		if errors.Is(err, state.ErrExists) {
			h.fail(w, r, s, http.StatusConflict, "Name taken", "You have an address book or pair called "+book+" already; choose another name. Nothing was created.")
			return
		}
		h.internal(w, r, s, "creating the pair", err)
		return
	}
	wp.Name = name
	if h.o.Scheduler != nil {
		if err := h.o.Scheduler.Add(name, wp.Every, []string{s.User + "/" + book}); err != nil {
			h.log.Warn("web: scheduling the new pair", "pair", name, "err", err)
		}
	}
	h.log.Info("web: pair created", "user", s.User, "pair", name)
	http.Redirect(w, r, Prefix+"?created="+url.QueryEscape(name), http.StatusSeeOther)
}

// pairsConfigured reports whether users may connect Office 365 and make
// pairs here: with "Connect Office 365" (server.connect) or by signing in
// with Microsoft with the contacts (server.microsoft_sign_in.contacts).
func (h *Handler) pairsConfigured() bool {
	ms := h.o.Config.Server.MicrosoftSignIn
	return h.o.Config.Server.Connect.Configured() || (ms.Configured() && ms.Contacts)
}

// disconnect forgets the user's Office 365 tokens and the pairs made with
// them (with their state); the address books and their cards stay. Every
// account the user connected goes: AccountName's, and one an older
// cardbridge named differently (web-Frank before names were escaped).
func (h *Handler) disconnect(w http.ResponseWriter, r *http.Request, s *session) {
	account := AccountName(s.User)
	if _, taken := h.o.Config.Account(account); taken {
		h.fail(w, r, s, http.StatusConflict, "Not a web connection", "Account "+account+" is configured in the file; it is not managed from this page.")
		return
	}
	owners, err := h.o.DB.WebAccounts(r.Context())
	if err != nil {
		h.internal(w, r, s, "disconnecting", err)
		return
	}
	accounts := []string{account}
	for a, u := range owners {
		if _, configured := h.o.Config.Account(a); u == s.User && a != account && !configured {
			accounts = append(accounts, a)
		}
	}
	var names []string
	for _, a := range accounts {
		n, err := h.o.DB.DisconnectWebAccount(r.Context(), a)
		if errors.Is(err, state.ErrLocked) {
			h.fail(w, r, s, http.StatusConflict, "Sync in progress", "A pair of this connection is being synced; nothing more was changed. Try again in a minute.")
			return
		}
		if err != nil {
			h.internal(w, r, s, "disconnecting", err)
			return
		}
		names = append(names, n...)
	}
	if h.o.Scheduler != nil {
		for _, n := range names {
			h.o.Scheduler.Remove(n)
		}
	}
	h.log.Info("web: Office 365 disconnected", "user", s.User, "pairs_removed", len(names))
	http.Redirect(w, r, Prefix+"?disconnected=1", http.StatusSeeOther)
}

// webAccountFree answers 409 and returns false when a configured account
// has the name of the user's web connection: its tokens are the
// administrator's, and the page must not replace them.
func (h *Handler) webAccountFree(w http.ResponseWriter, r *http.Request, s *session) bool {
	account := AccountName(s.User)
	if _, taken := h.o.Config.Account(account); taken {
		h.fail(w, r, s, http.StatusConflict, "Account name taken",
			"The configuration has an account called "+account+", which the web connection would replace; ask the administrator to rename it. Nothing was stored.")
		return false
	}
	return true
}

// connected reports whether user has connected Office 365 on the page:
// the account is theirs (state.ClaimWebAccount) and has tokens. Tokens
// under the name that nobody owns (left by a removed namesake) are not
// the user's connection.
func (h *Handler) connected(ctx context.Context, user string) (bool, error) {
	_, ok, err := h.connection(ctx, user)
	return ok, err
}

// connection is the user's web connection's tokens, when connected.
func (h *Handler) connection(ctx context.Context, user string) (state.AccountToken, bool, error) {
	account := AccountName(user)
	owner, err := h.o.DB.WebAccountOwner(ctx, account)
	if err != nil || owner != user {
		return state.AccountToken{}, false, err
	}
	t, ok, err := h.o.DB.LoadToken(ctx, account)
	if errors.Is(err, state.ErrTokenKeyMismatch) || errors.Is(err, state.ErrNoTokenKey) {
		// Kept as they are; the user may connect again, which replaces them.
		h.log.Warn("web: the tokens of a web connection cannot be read; the page shows it as not connected", "user", user, "account", account, "err", err)
		return state.AccountToken{}, false, nil
	}
	return t, ok, err
}
