package graphsim

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tenant is one directory: its users (with tombstones, for delta), its
// groups and its signing key. Guarded by Server.mu (the key by keyOnce).
type tenant struct {
	id, domain string

	seq    uint64 // directory change sequence
	users  []*dirUser
	byID   map[string]*dirUser // by lower-case id
	groups map[string]*group   // by lower-case id

	keyOnce sync.Once
	key     *rsa.PrivateKey
	kid     string
}

// dirUser is a user as the directory holds them.
type dirUser struct {
	m       *Mailbox
	f       User              // current directory fields
	added   uint64            // seq of creation
	last    uint64            // seq of the latest change (or removal)
	props   map[string]uint64 // seq of each property's latest change
	removed string            // "" live, "changed" soft-deleted, "deleted" gone
}

type group struct {
	id, name string
	members  []string // lower-case user ids, in order added
}

// Group is a directory group for [Server.AddGroup].
type Group struct {
	ID, DisplayName string
	// Members are user ids or UPNs.
	Members []string
}

// DefaultDirectoryDeltaTTL is how long a users delta token stays valid
// when Options.DirectoryDeltaTokenTTL is 0: Entra ID keeps directory
// delta state for 7 days (delta query overview, "token duration").
const DefaultDirectoryDeltaTTL = 7 * 24 * time.Hour

// userDeltaPageCap is the most users a users/delta page holds whatever
// odata.maxpagesize asks (MS Q&A answers on users delta).
const userDeltaPageCap = 200

// userProps are the user properties graphsim serves, in output order;
// userDefault the ones returned without $select (Graph's default set).
var (
	userProps   = []string{"id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "otherMails", "proxyAddresses", "businessPhones", "mobilePhone", "jobTitle", "department", "officeLocation", "companyName", "preferredLanguage", "accountEnabled", "userType"}
	userDefault = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}
)

func newTenant(id, domain string) *tenant {
	return &tenant{id: strings.ToLower(id), domain: strings.ToLower(domain), byID: map[string]*dirUser{}, groups: map[string]*group{}}
}

// AddTenant adds another directory (tenant) to the Server, with its own
// users, groups, signing key and issuer. Users join it through
// User.Tenant; apps through App.Tenant.
func (s *Server) AddTenant(id, domain string) error {
	if !looksLikeGUID(id) {
		return fmt.Errorf("graphsim: tenant id %q is not a GUID", id)
	}
	if domain == "" || strings.ContainsAny(domain, "/ @") {
		return fmt.Errorf("graphsim: tenant domain %q is not a domain name", domain)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tenantLocked(id) != nil || s.tenantLocked(domain) != nil {
		return fmt.Errorf("graphsim: tenant %s or %s exists already", id, domain)
	}
	s.tenants = append(s.tenants, newTenant(id, domain))
	return nil
}

func looksLikeGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// tenantLocked finds a tenant by id or domain (s.mu held).
func (s *Server) tenantLocked(idOrDomain string) *tenant {
	for _, t := range s.tenants {
		if strings.EqualFold(t.id, idOrDomain) || strings.EqualFold(t.domain, idOrDomain) {
			return t
		}
	}
	return nil
}

// tenantOf resolves a tenant id or domain ("" is the default tenant).
func (s *Server) tenantOf(idOrDomain string) *tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if idOrDomain == "" {
		return s.tenants[0]
	}
	return s.tenantLocked(idOrDomain)
}

// Tenants lists the tenant ids, the default one first.
func (s *Server) Tenants() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.tenants {
		out = append(out, t.id)
	}
	return out
}

// addDirUserLocked records a new user in t (s.mu held).
func (t *tenant) addDirUserLocked(m *Mailbox) {
	t.seq++
	du := &dirUser{m: m, f: m.user, added: t.seq, last: t.seq, props: map[string]uint64{}}
	t.users = append(t.users, du)
	t.byID[strings.ToLower(m.user.ID)] = du
}

// userJSON renders the properties of f named in sel (nil: the default
// set) in Graph's shape; props, when not nil, limits to those too.
func userJSON(f *User, sel []string, only map[string]bool) map[string]any {
	if sel == nil {
		sel = userDefault
	}
	out := map[string]any{}
	for _, p := range sel {
		if only != nil && !only[p] && p != "id" {
			continue
		}
		out[p] = userProp(f, p)
	}
	out["id"] = f.ID
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func list(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func userProp(f *User, p string) any {
	switch p {
	case "id":
		return f.ID
	case "userPrincipalName":
		return f.UPN
	case "displayName":
		return nullable(f.DisplayName)
	case "givenName":
		return nullable(f.GivenName)
	case "surname":
		return nullable(f.Surname)
	case "mail":
		if f.Mail == "" && !f.NoMailbox {
			return f.UPN
		}
		return nullable(f.Mail)
	case "otherMails":
		return list(f.OtherMails)
	case "proxyAddresses":
		if f.ProxyAddresses == nil && !f.NoMailbox {
			return []string{"SMTP:" + f.UPN}
		}
		return list(f.ProxyAddresses)
	case "businessPhones":
		return list(f.BusinessPhones)
	case "mobilePhone":
		return nullable(f.MobilePhone)
	case "jobTitle":
		return nullable(f.JobTitle)
	case "department":
		return nullable(f.Department)
	case "officeLocation":
		return nullable(f.OfficeLocation)
	case "companyName":
		return nullable(f.CompanyName)
	case "preferredLanguage":
		return nullable(f.PreferredLanguage)
	case "accountEnabled":
		return !f.Disabled
	case "userType":
		if f.Guest {
			return "Guest"
		}
		return "Member"
	}
	return nil
}

// parseUserSelect checks a $select on users; nil for none.
func parseUserSelect(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		i := slices.IndexFunc(userProps, func(k string) bool { return strings.EqualFold(k, p) })
		if i < 0 {
			return nil, fmt.Errorf("Could not find a property named '%s' on type 'microsoft.graph.user'.", p)
		}
		if !slices.Contains(out, userProps[i]) {
			out = append(out, userProps[i])
		}
	}
	return out, nil
}

// ---- test and seed helpers: changes to the directory ----

// dirUserLocked finds a live user by id or UPN in any tenant (s.mu held).
func (s *Server) dirUserLocked(idOrUPN string) (*tenant, *dirUser) {
	m := s.users[strings.ToLower(idOrUPN)]
	if m == nil {
		return nil, nil
	}
	for _, t := range s.tenants {
		if du := t.byID[strings.ToLower(m.user.ID)]; du != nil && du.removed == "" {
			return t, du
		}
	}
	return nil, nil
}

// UpdateUser changes a user's directory fields as an administrator would
// in the Entra admin center: change edits a copy of the user, and each
// property that differs afterwards shows in the next users delta round.
// The id, UPN, tenant, password and mailbox cannot change.
func (s *Server) UpdateUser(idOrUPN string, change func(*User)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, du := s.dirUserLocked(idOrUPN)
	if du == nil {
		return fmt.Errorf("graphsim: no user %q", idOrUPN)
	}
	f := du.f
	// change gets its own slices: an edit in place must not reach du.f
	f.OtherMails, f.ProxyAddresses, f.BusinessPhones, f.Photo = slices.Clone(f.OtherMails), slices.Clone(f.ProxyAddresses), slices.Clone(f.BusinessPhones), slices.Clone(f.Photo)
	change(&f)
	if f.ID != du.f.ID || f.UPN != du.f.UPN || f.Tenant != du.f.Tenant || f.Password != du.f.Password || f.NoMailbox != du.f.NoMailbox {
		return fmt.Errorf("graphsim: user %q: id, UPN, tenant, password and mailbox cannot change", idOrUPN)
	}
	if f.Manager != "" {
		if _, mgr := s.dirUserLocked(f.Manager); mgr == nil || strings.EqualFold(mgr.f.ID, f.ID) {
			return fmt.Errorf("graphsim: user %q: manager %q is not another user", idOrUPN, f.Manager)
		}
	}
	var changed []string
	for _, p := range append(slices.Clone(userProps), "manager") {
		a, _ := json.Marshal(dirProp(s, &du.f, p))
		b, _ := json.Marshal(dirProp(s, &f, p))
		if string(a) != string(b) {
			changed = append(changed, p)
		}
	}
	du.f = f
	if len(changed) > 0 {
		t.seq++
		du.last = t.seq
		for _, p := range changed {
			du.props[p] = t.seq
		}
	}
	return nil
}

// dirProp is userProp plus the manager's id (s.mu held).
func dirProp(s *Server, f *User, p string) any {
	if p == "manager" {
		if _, mgr := s.dirUserLocked(f.Manager); mgr != nil {
			return mgr.f.ID
		}
		return nil
	}
	return userProp(f, p)
}

// DisableUser sets accountEnabled false (sign-ins are refused with
// AADSTS50057; the mailbox stays readable to app-only tokens).
func (s *Server) DisableUser(idOrUPN string) error {
	return s.UpdateUser(idOrUPN, func(u *User) { u.Disabled = true })
}

// RemoveUser deletes a user: soft (permanent false: restorable for 30
// days, @removed reason "changed" in users delta) or permanently
// ("deleted"). The user leaves every group, /users and sign-in, their
// mailbox answers 404, and the users they managed have no manager.
func (s *Server) RemoveUser(idOrUPN string, permanent bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, du := s.dirUserLocked(idOrUPN)
	if du == nil {
		return fmt.Errorf("graphsim: no user %q", idOrUPN)
	}
	id := strings.ToLower(du.f.ID)
	t.seq++
	du.last = t.seq
	du.removed = "changed"
	if permanent {
		du.removed = "deleted"
	}
	delete(s.users, id)
	delete(s.users, strings.ToLower(du.f.UPN))
	for _, g := range t.groups {
		g.members = slices.DeleteFunc(g.members, func(x string) bool { return x == id })
	}
	for _, o := range t.users {
		if o.removed == "" && o.f.Manager != "" && (strings.EqualFold(o.f.Manager, du.f.ID) || strings.EqualFold(o.f.Manager, du.f.UPN)) {
			o.f.Manager = ""
			t.seq++
			o.last, o.props["manager"] = t.seq, t.seq
		}
	}
	return nil
}

// AddGroup creates a group in the tenant of its first member (the default
// tenant when it has none).
func (s *Server) AddGroup(g Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !looksLikeGUID(g.ID) {
		return fmt.Errorf("graphsim: group id %q is not a GUID", g.ID)
	}
	t := s.tenants[0]
	if len(g.Members) > 0 {
		if t, _ = s.dirUserLocked(g.Members[0]); t == nil {
			return fmt.Errorf("graphsim: group %s: no user %q", g.ID, g.Members[0])
		}
	}
	for _, o := range s.tenants {
		if o.groups[strings.ToLower(g.ID)] != nil {
			return fmt.Errorf("graphsim: group %s exists already", g.ID)
		}
	}
	gr := &group{id: strings.ToLower(g.ID), name: g.DisplayName}
	t.groups[gr.id] = gr
	for _, m := range g.Members {
		if err := s.memberLocked(gr.id, m, true); err != nil {
			delete(t.groups, gr.id)
			return err
		}
	}
	return nil
}

// AddGroupMember adds a user (id or UPN) to a group.
func (s *Server) AddGroupMember(groupID, idOrUPN string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memberLocked(groupID, idOrUPN, true)
}

// RemoveGroupMember removes a user (id or UPN) from a group.
func (s *Server) RemoveGroupMember(groupID, idOrUPN string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memberLocked(groupID, idOrUPN, false)
}

func (s *Server) memberLocked(groupID, idOrUPN string, add bool) error {
	t, du := s.dirUserLocked(idOrUPN)
	if du == nil {
		return fmt.Errorf("graphsim: no user %q", idOrUPN)
	}
	g := t.groups[strings.ToLower(groupID)]
	if g == nil {
		return fmt.Errorf("graphsim: no group %s in the tenant of %s", groupID, idOrUPN)
	}
	id := strings.ToLower(du.f.ID)
	has := slices.Contains(g.members, id)
	switch {
	case add && has:
		return fmt.Errorf("graphsim: %s is a member of group %s already", idOrUPN, groupID)
	case !add && !has:
		return fmt.Errorf("graphsim: %s is not a member of group %s", idOrUPN, groupID)
	case add:
		g.members = append(g.members, id)
	default:
		g.members = slices.DeleteFunc(g.members, func(x string) bool { return x == id })
	}
	return nil
}

// inGroup reports whether user id is a member of the group.
func (s *Server) inGroup(groupID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tenants {
		if g := t.groups[strings.ToLower(groupID)]; g != nil {
			return slices.Contains(g.members, strings.ToLower(userID))
		}
	}
	return false
}

// ---- Graph: /users, /users/delta, manager, photo, /groups/{id}/members ----

// directoryAllowed checks the app-only token's roles for a directory
// read: one of roles, in a token of an app (delegated tokens are not
// simulated for the directory).
func (g *gctx) directoryAllowed(roles ...string) bool {
	if g.tok.user == nil {
		for _, r := range roles {
			if g.tok.has(r) {
				return true
			}
		}
	}
	g.fail(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

func (g *gctx) tokenTenant() *tenant {
	t := g.s.tenantOf(g.tok.tenant)
	if t == nil {
		t = g.s.tenantOf("")
	}
	return t
}

// serveDirectory serves the directory paths; false when segs is not one.
func (g *gctx) serveDirectory(segs []string) bool {
	switch {
	case len(segs) == 1 && segs[0] == "users":
		g.dirGET(func() { g.listUsers() }, "User.Read.All", "User.ReadBasic.All", "Directory.Read.All")
	case len(segs) == 2 && segs[0] == "users" && (segs[1] == "delta" || segs[1] == "microsoft.graph.delta"):
		g.dirGET(func() { g.usersDelta() }, "User.Read.All", "Directory.Read.All")
	case len(segs) == 3 && segs[0] == "users" && segs[2] == "manager":
		g.dirGET(func() { g.userManager(segs[1]) }, "User.Read.All", "Directory.Read.All")
	case len(segs) >= 3 && len(segs) <= 4 && segs[0] == "users" && segs[2] == "photo":
		g.dirGET(func() { g.userPhoto(segs[1], len(segs) == 4 && segs[3] == "$value", len(segs) == 3) }, "User.Read.All", "ProfilePhoto.Read.All")
	case segs[0] == "groups":
		if len(segs) != 3 || segs[2] != "members" {
			g.fail(400, "Request_BadRequest", "Unsupported group path: graphsim serves /groups/{id}/members only.")
			return true
		}
		g.dirGET(func() { g.groupMembers(segs[1]) }, "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")
	default:
		return false
	}
	return true
}

func (g *gctx) dirGET(serve func(), roles ...string) {
	if g.r.Method != http.MethodGet {
		g.methodNotAllowed()
		return
	}
	if !g.directoryAllowed(roles...) {
		return
	}
	g.latency()
	serve()
}

// liveUser finds the live user idOrUPN of the token's tenant; nil, after
// answering 404, when there is none.
func (g *gctx) liveUser(idOrUPN string) *dirUser {
	t := g.tokenTenant()
	g.s.mu.Lock()
	ut, du := g.s.dirUserLocked(idOrUPN)
	g.s.mu.Unlock()
	if du == nil || ut != t {
		g.fail(404, "Request_ResourceNotFound", "Resource '"+idOrUPN+"' does not exist or one of its queried reference-property objects are not present.")
		return nil
	}
	return du
}

// dirPage is one page of a directory list (/users, a group's members):
// its size, $top 1..999 (default 100), and how many items the pages
// before it served, from the opaque $skiptoken, which holds only for the
// list (kind, folder) of tenant t that wrote it.
type dirPage struct {
	t            *tenant
	kind, folder string
	size, skip   int
}

// openDirPage reads the $top and $skiptoken of q for the list (kind,
// folder) of t. It returns ok=false after writing the error.
func (g *gctx) openDirPage(q url.Values, t *tenant, kind, folder string) (p dirPage, ok bool) {
	p = dirPage{t: t, kind: kind, folder: folder, size: 100}
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			g.fail(400, "Request_BadRequest", "Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
			return p, false
		}
		p.size = n
	}
	if raw := q.Get("$skiptoken"); raw != "" {
		st, valid := g.s.decodeToken(raw)
		if !valid || st.Kind != kind || st.Mailbox != t.id || st.Folder != folder {
			g.fail(400, "Request_BadRequest", "The specified page token value has expired or is invalid.")
			return p, false
		}
		p.skip = int(st.After)
	}
	return p, true
}

// write answers with the page vals of the list at path (under g.base())
// described by @odata.context context; when more items follow, its
// @odata.nextLink repeats q with the $skiptoken of the next page.
func (p dirPage) write(g *gctx, q url.Values, context, path string, vals []any, more bool) {
	if vals == nil {
		vals = []any{}
	}
	out := map[string]any{"@odata.context": g.base() + "/$metadata#" + context, "value": vals}
	if more {
		next := deltaState{Kind: p.kind, Mailbox: p.t.id, Folder: p.folder, After: uint64(p.skip + len(vals))}
		out["@odata.nextLink"] = g.nextLink(path, q, "$skiptoken", g.s.encodeToken(next))
	}
	writeJSON(g.w, 200, out)
}

// userFilter parses the $filter forms /users supports on the properties
// graphsim simulates without advanced query: accountEnabled eq true|false
// and userType eq 'Member'|'Guest', joined by "and".
func userFilter(v string) (func(*User) bool, error) {
	if strings.TrimSpace(v) == "" {
		return func(*User) bool { return true }, nil
	}
	var tests []func(*User) bool
	for _, clause := range splitFold(v, " and ") {
		fs := strings.Fields(clause)
		if len(fs) != 3 || !strings.EqualFold(fs[1], "eq") {
			return nil, fmt.Errorf("Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", strings.SplitN(strings.TrimSpace(clause), " ", 2)[0])
		}
		switch {
		case strings.EqualFold(fs[0], "accountEnabled") && (fs[2] == "true" || fs[2] == "false"):
			want := fs[2] == "true"
			tests = append(tests, func(u *User) bool { return !u.Disabled == want })
		case strings.EqualFold(fs[0], "userType") && (fs[2] == "'Member'" || fs[2] == "'Guest'"):
			guest := fs[2] == "'Guest'"
			tests = append(tests, func(u *User) bool { return u.Guest == guest })
		default:
			return nil, fmt.Errorf("Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", fs[0])
		}
	}
	return func(u *User) bool {
		for _, t := range tests {
			if !t(u) {
				return false
			}
		}
		return true
	}, nil
}

func splitFold(s, sep string) []string {
	var out []string
	for {
		i := strings.Index(strings.ToLower(s), sep)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+len(sep):]
	}
}

// dirSelect checks that q has no query options but the allowed ones and
// parses its $select (nil for none). It returns ok=false after writing
// the error.
func (g *gctx) dirSelect(q url.Values, allowed ...string) (sel []string, ok bool) {
	for k := range q {
		if strings.HasPrefix(k, "$") && !slices.Contains(allowed, k) {
			g.fail(400, "Request_BadRequest", "Query option '"+k+"' is not supported by graphsim on this directory resource.")
			return nil, false
		}
	}
	sel, err := parseUserSelect(q.Get("$select"))
	if err != nil {
		g.fail(400, "Request_BadRequest", err.Error())
		return nil, false
	}
	return sel, true
}

// listUsers serves GET /users: live users of the token's tenant in
// creation order, paged with an opaque $skiptoken.
func (g *gctx) listUsers() {
	q := g.r.URL.Query()
	sel, ok := g.dirSelect(q, "$select", "$filter", "$top", "$skiptoken")
	if !ok {
		return
	}
	match, err := userFilter(q.Get("$filter"))
	if err != nil {
		g.fail(400, "Request_UnsupportedQuery", err.Error())
		return
	}
	t := g.tokenTenant()
	page, ok := g.openDirPage(q, t, "l", "")
	if !ok {
		return
	}
	g.s.mu.Lock()
	var vals []any
	n, more := 0, false
	for _, du := range t.users {
		if du.removed != "" || !match(&du.f) {
			continue
		}
		n++
		if n <= page.skip {
			continue
		}
		if len(vals) == page.size {
			more = true
			break
		}
		vals = append(vals, userJSON(&du.f, sel, nil))
	}
	g.s.mu.Unlock()
	page.write(g, q, "users", "/users", vals, more)
}

func (g *gctx) userManager(id string) {
	sel, ok := g.dirSelect(g.r.URL.Query(), "$select")
	if !ok {
		return
	}
	du := g.liveUser(id)
	if du == nil {
		return
	}
	g.s.mu.Lock()
	var mgr *dirUser
	if du.f.Manager != "" {
		_, mgr = g.s.dirUserLocked(du.f.Manager)
	}
	var body map[string]any
	if mgr != nil {
		body = userJSON(&mgr.f, sel, nil)
	}
	g.s.mu.Unlock()
	if body == nil {
		g.fail(404, "Request_ResourceNotFound", "Resource 'manager' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	body["@odata.context"] = g.base() + "/$metadata#directoryObjects/$entity"
	body["@odata.type"] = "#microsoft.graph.user"
	writeJSON(g.w, 200, body)
}

// userPhoto serves GET /users/{id}/photo (meta) and /photo/$value.
func (g *gctx) userPhoto(id string, value, meta bool) {
	if !value && !meta {
		g.fail(400, "BadRequest", "Resource not found for the segment '"+g.r.URL.Path+"'.")
		return
	}
	du := g.liveUser(id)
	if du == nil {
		return
	}
	g.s.mu.Lock()
	photo := du.f.Photo
	g.s.mu.Unlock()
	if len(photo) == 0 {
		g.fail(404, "ImageNotFound", "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.")
		return
	}
	ct := http.DetectContentType(photo)
	if meta {
		writeJSON(g.w, 200, map[string]any{"@odata.context": g.base() + "/$metadata#users('" + du.f.ID + "')/photo/$entity",
			"@odata.mediaContentType": ct, "id": "default", "height": nil, "width": nil})
		return
	}
	g.w.Header().Set("Content-Type", ct)
	g.w.Header().Set("Content-Length", strconv.Itoa(len(photo)))
	g.w.WriteHeader(200)
	g.w.Write(photo)
}

// groupMembers serves GET /groups/{id}/members: users in the order added.
func (g *gctx) groupMembers(id string) {
	q := g.r.URL.Query()
	sel, ok := g.dirSelect(q, "$select", "$top", "$skiptoken")
	if !ok {
		return
	}
	t := g.tokenTenant()
	page, ok := g.openDirPage(q, t, "g", strings.ToLower(id))
	if !ok {
		return
	}
	g.s.mu.Lock()
	gr := t.groups[strings.ToLower(id)]
	var vals []any
	more := false
	if gr != nil {
		for i := min(page.skip, len(gr.members)); i < len(gr.members); i++ {
			if len(vals) == page.size {
				more = true
				break
			}
			du := t.byID[gr.members[i]]
			v := userJSON(&du.f, sel, nil)
			v["@odata.type"] = "#microsoft.graph.user"
			vals = append(vals, v)
		}
	}
	g.s.mu.Unlock()
	if gr == nil {
		g.fail(404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	page.write(g, q, "directoryObjects", "/groups/"+url.PathEscape(id)+"/members", vals, more)
}

// usersDelta serves GET /users/delta. A round is fixed when it starts:
// the initial round lists the live users created up to then; a later
// round lists the users changed since the previous round, new ones in
// full, changed ones with id and only their changed (selected)
// properties, removed ones as @removed. $select and $expand=manager
// (manager@delta) are kept in the tokens; $filter takes only id eq '…'
// clauses joined by "or", as Graph documents. Options.DeltaEmptyPages
// makes some pages short (or empty) and Options.DeltaDuplicates repeats
// users of the initial snapshot on later pages, as reported for Graph.
func (g *gctx) usersDelta() {
	q := g.r.URL.Query()
	for k := range q {
		switch k {
		case "$select", "$deltatoken", "$skiptoken", "$filter", "$expand":
		default:
			if strings.HasPrefix(k, "$") {
				g.fail(400, "Request_BadRequest", "The query parameter '"+k+"' is not supported with users delta.")
				return
			}
		}
	}
	t := g.tokenTenant()
	var st deltaState
	raw, isSkip := q.Get("$skiptoken"), true
	if raw == "" {
		raw, isSkip = q.Get("$deltatoken"), false
	}
	if raw != "" {
		var valid bool
		st, valid = g.s.decodeToken(raw)
		if !valid || st.Kind != "u" || st.Mailbox != t.id {
			g.fail(400, CodeSyncStateInvalid, "The sync state is invalid or was issued for another tenant.")
			return
		}
		ttl := g.s.opts.DirectoryDeltaTokenTTL
		if g.s.expiredToken(g, st, ttl) {
			return
		}
		if !isSkip {
			g.s.mu.Lock()
			st = deltaState{Kind: "u", Mailbox: t.id, From: st.To, To: t.seq, After: 0, Select: st.Select, Expand: st.Expand, IDs: st.IDs, Gen: st.Gen}
			g.s.mu.Unlock()
		}
	} else {
		if _, err := parseUserSelect(q.Get("$select")); err != nil {
			g.fail(400, "Request_BadRequest", err.Error())
			return
		}
		exp := q.Get("$expand")
		if exp != "" && !strings.EqualFold(exp, "manager") {
			g.fail(400, "Request_BadRequest", "Expand of '"+exp+"' is not supported with users delta; only manager is (graphsim).")
			return
		}
		ids, err := deltaIDFilter(q.Get("$filter"))
		if err != nil {
			g.fail(400, "Request_UnsupportedQuery", err.Error())
			return
		}
		g.s.mu.Lock()
		st = deltaState{Kind: "u", Mailbox: t.id, From: 0, To: t.seq, Initial: true, Select: q.Get("$select"), Expand: strings.ToLower(exp), IDs: ids, Gen: g.s.deltaGen}
		g.s.mu.Unlock()
	}
	st.Issued = g.s.now().UnixNano()
	sel, _ := parseUserSelect(st.Select)
	size := userDeltaPageCap
	if g.maxPage > 0 {
		size = min(g.maxPage, userDeltaPageCap)
	}
	// a page may hold fewer users than asked, even none, when the service
	// times out internally (Options.DeltaEmptyPages: a short page)
	if p := g.s.opts.DeltaEmptyPages; p > 0 && st.Empties < 3 && g.s.randFloat() < p {
		size = g.s.randInt(size/2 + 1)
		st.Empties++
	} else {
		st.Empties = 0
	}
	startAfter := st.After

	g.s.mu.Lock()
	// candidates, ordered by the cursor key: creation seq in the initial
	// round, latest change in later ones
	key := func(du *dirUser) uint64 {
		if st.Initial {
			return du.added
		}
		return du.last
	}
	var cands []*dirUser
	for _, du := range t.users {
		k := key(du)
		if k <= st.After || k <= st.From || k > st.To {
			continue
		}
		if st.Initial && du.removed != "" {
			continue
		}
		if len(st.IDs) > 0 && !slices.Contains(st.IDs, strings.ToLower(du.f.ID)) {
			continue
		}
		cands = append(cands, du)
	}
	sort.SliceStable(cands, func(i, j int) bool { return key(cands[i]) < key(cands[j]) })
	more := len(cands) > size
	if more {
		cands = cands[:size]
	}
	page := make([]any, 0, len(cands))
	for _, du := range cands {
		st.After = key(du)
		if du.removed != "" {
			page = append(page, map[string]any{"@odata.type": "#microsoft.graph.user", "id": du.f.ID, "@removed": map[string]string{"reason": du.removed}})
			continue
		}
		var only map[string]bool
		if !st.Initial && du.added <= st.From {
			only = map[string]bool{}
			for p, seq := range du.props {
				if seq > st.From {
					only[p] = true
				}
			}
		}
		v := userJSON(&du.f, sel, only)
		if st.Expand == "manager" && (only == nil || only["manager"]) {
			if _, mgr := g.s.dirUserLocked(du.f.Manager); mgr != nil {
				v["manager@delta"] = []any{map[string]any{"@odata.type": "#microsoft.graph.user", "id": mgr.f.ID}}
			} else if only != nil {
				v["manager@delta"] = []any{}
			}
		}
		page = append(page, v)
	}
	// the initial snapshot may deliver a user again on a later page
	// (Options.DeltaDuplicates): clients upsert by id
	if g.s.opts.DeltaDuplicates && st.Initial && startAfter > 0 && g.s.rng.IntN(3) == 0 {
		var seen []*dirUser
		for _, du := range t.users {
			if du.added <= startAfter && du.removed == "" && (len(st.IDs) == 0 || slices.Contains(st.IDs, strings.ToLower(du.f.ID))) {
				seen = append(seen, du)
			}
		}
		if len(seen) > 0 {
			du := seen[g.s.rng.IntN(len(seen))]
			page = append(page, userJSON(&du.f, sel, nil))
		}
	}
	g.s.mu.Unlock()
	out := map[string]any{"@odata.context": g.base() + "/$metadata#users", "value": page}
	link := g.base() + "/users/delta"
	if more {
		out["@odata.nextLink"] = link + "?$skiptoken=" + g.s.encodeToken(st)
	} else {
		st.Initial = false
		out["@odata.deltaLink"] = link + "?$deltatoken=" + g.s.encodeToken(st)
	}
	writeJSON(g.w, 200, out)
}

// deltaIDFilter parses "id eq 'x' or id eq 'y'", the only $filter users
// delta takes.
func deltaIDFilter(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var ids []string
	for _, c := range splitFold(v, " or ") {
		fs := strings.Fields(c)
		if len(fs) != 3 || !strings.EqualFold(fs[0], "id") || !strings.EqualFold(fs[1], "eq") || len(fs[2]) < 3 || fs[2][0] != '\'' || fs[2][len(fs[2])-1] != '\'' {
			return nil, fmt.Errorf("Unsupported query: users delta takes only $filter=id eq '<id>' [or id eq '<id>'…], not %q.", strings.TrimSpace(c))
		}
		ids = append(ids, strings.ToLower(fs[2][1:len(fs[2])-1]))
	}
	return ids, nil
}
