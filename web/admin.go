package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
)

// The administrator view (/ui/admin) is for the users of server.admins:
// every user with how they sign in, their books and pairs; their app
// passwords (revocable); the directory copy of each tenant; the pairs in
// trouble. To anyone else its routes answer as pages that do not exist.

// adminPageSize is how many users a page of the administrator view lists.
const adminPageSize = pairs.DefaultAdminUsers

// adminSection is one section of the administrator view, in the order
// shown: ID is its HTML id and selects its template block in admin.html
// ("admin-" + ID); Title its heading. A new section is an entry in
// adminSections, a {{define "admin-ID"}} block with an {{else if eq .ID
// "ID"}} line in admin.html, and its data in adminData filled in
// renderAdmin.
type adminSection struct {
	ID, Title string
}

// adminSections are the sections of the administrator view, in order.
func adminSections() []adminSection {
	return []adminSection{
		{"users", "Users"},
		{"app-passwords", "App passwords by user"},
		{"mailboxes", "Mailboxes"},
		{"directory", "Directory"},
		{"errors", "Errors"},
	}
}

// adminMailboxes is the Mailboxes section: the provisioned mailboxes of
// the users shown, and counts over every mailbox of the server.
type adminMailboxes struct {
	// Shown are the mailboxes of the users on the page, by account and pair.
	Shown []pairs.MailboxView
	// Total, Active, Paused and Failing count every provisioned mailbox
	// (Failing: whose last run ended with an error).
	Total, Active, Paused, Failing int
}

// mailboxSection fills the Mailboxes section for the users of v.
func mailboxSection(all []pairs.MailboxView, v pairs.AdminView) adminMailboxes {
	shown := map[string]bool{}
	for _, u := range v.Users {
		shown[u.Name] = true
	}
	var m adminMailboxes
	for _, mb := range all {
		m.Total++
		if mb.State == "paused" {
			m.Paused++
		} else {
			m.Active++
		}
		if mb.Error != "" {
			m.Failing++
		}
		if shown[mb.User] {
			m.Shown = append(m.Shown, mb)
		}
	}
	return m
}

// adminData is the content of the administrator view.
type adminData struct {
	Sections []adminSection
	View     pairs.AdminView
	// Query is the filter of user names; From and To number the users
	// shown (1-based), Prev and Next link the neighbouring pages ("" at
	// either end).
	Query      string
	From, To   int
	Prev, Next string
	// Page and Query as the revoke forms send them back.
	Page int
	// AppPasswords counts the app passwords of the users shown.
	AppPasswords int
	// Mailboxes is the Mailboxes section.
	Mailboxes adminMailboxes
}

// isAdmin reports whether user is one of server.admins.
func (h *Handler) isAdmin(user string) bool {
	return user != "" && slices.Contains(h.o.Config.Server.Admins, user)
}

// notFound answers as for a path with no page: what a non-admin gets from
// the administrator view, so that it is not told the view exists.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, nil, http.StatusNotFound, "Not found", "There is no page at "+r.URL.Path+".")
}

// withAdmin runs next for a signed-in administrator. Anyone else signed in
// gets notFound, before the CSRF token is looked at (a POST without one
// does not tell either); a visitor without a session goes to the sign-in
// page as for every page that needs one.
func (h *Handler) withAdmin(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	inner := h.withSession(func(w http.ResponseWriter, r *http.Request, s *session) {
		if !h.isAdmin(s.User) {
			h.notFound(w, r)
			return
		}
		next(w, r, s)
	})
	return func(w http.ResponseWriter, r *http.Request) {
		if s, ok := h.session(r); ok && !h.isAdmin(s.User) {
			h.notFound(w, r)
			return
		}
		inner(w, r)
	}
}

// adminPage shows the administrator view: ?q= filters the users by name,
// ?page= (from 1) pages through them.
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	flash := ""
	if n := q.Get("revoked"); n != "" {
		flash = "The app password “" + n + "” of " + q.Get("of") + " is revoked: the device using it is refused from its next request."
	}
	h.renderAdmin(w, r, s, http.StatusOK, q.Get("q"), pageNumber(q.Get("page")), flash, "")
}

// pageNumber reads a ?page= value: 1 when missing or bad.
func pageNumber(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// maxAdminQuery bounds the user filter's length (user names have at most
// 64 characters).
const maxAdminQuery = 64

// renderAdmin renders the administrator view's page of users matching
// query.
func (h *Handler) renderAdmin(w http.ResponseWriter, r *http.Request, s *session, status int, query string, page int, flash, msg string) {
	if len(query) > maxAdminQuery {
		query = query[:maxAdminQuery]
	}
	page = min(page, 1<<20) // an offset that fits any database's integer
	v, err := h.o.Pairs.AdminView(r.Context(), pairs.AdminOptions{Match: query, Offset: (page - 1) * adminPageSize, Limit: adminPageSize})
	if err != nil {
		h.internal(w, r, s, "reading the administrator view", err)
		return
	}
	mbs, err := h.o.Pairs.Mailboxes(r.Context())
	if err != nil {
		h.internal(w, r, s, "reading the provisioned mailboxes", err)
		return
	}
	d := adminData{Sections: adminSections(), View: v, Query: query, Page: page, Mailboxes: mailboxSection(mbs, v)}
	for _, u := range v.Users {
		d.AppPasswords += len(u.AppPasswords)
	}
	if len(v.Users) > 0 {
		d.From, d.To = v.Offset+1, v.Offset+len(v.Users)
	}
	link := func(p int) string {
		u := url.Values{}
		if query != "" {
			u.Set("q", query)
		}
		if p > 1 {
			u.Set("page", strconv.Itoa(p))
		}
		if len(u) == 0 {
			return Prefix + "admin"
		}
		return Prefix + "admin?" + u.Encode()
	}
	if page > 1 && v.TotalUsers > 0 {
		d.Prev = link(min(page-1, (v.TotalUsers+adminPageSize-1)/adminPageSize))
	}
	if v.Offset+len(v.Users) < v.TotalUsers {
		d.Next = link(page + 1)
	}
	h.render(w, status, "admin", view{Title: "Administration", User: s.User, CSRF: s.CSRF, Flash: flash, Error: msg, Section: "admin", Data: d})
}

// adminRevoke revokes the app password named by the form's "name" of the
// form's "user", logs who did it, and goes back to the page of users the
// form came from.
func (h *Handler) adminRevoke(w http.ResponseWriter, r *http.Request, s *session) {
	user, name := r.PostForm.Get("user"), r.PostForm.Get("name")
	query, page := r.PostForm.Get("q"), pageNumber(r.PostForm.Get("page"))
	err := h.o.Pairs.RevokeAppPassword(r.Context(), user, name)
	if errors.Is(err, state.ErrNotFound) {
		h.renderAdmin(w, r, s, http.StatusNotFound, query, page, "", "User "+user+" has no app password named “"+name+"”; nothing was revoked.")
		return
	}
	if err != nil {
		h.internal(w, r, s, "revoking the app password", err)
		return
	}
	h.log.Info("web: app password revoked by an administrator", "admin", s.User, "user", user, "name", name)
	back := url.Values{"revoked": {name}, "of": {user}}
	if query != "" {
		back.Set("q", query)
	}
	if page > 1 {
		back.Set("page", strconv.Itoa(page))
	}
	http.Redirect(w, r, Prefix+"admin?"+back.Encode()+"#app-passwords", http.StatusSeeOther)
}
