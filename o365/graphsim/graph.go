package graphsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // photo validation
	_ "image/jpeg"
	_ "image/png"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxBody bounds request bodies (4 MB plus room for JSON overhead).
const MaxBody = 4<<20 + 64<<10

// MaxPhoto is the largest photo a PUT accepts.
const MaxPhoto = 4 << 20

// gctx is one Graph request (or $batch sub-request) being served.
type gctx struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	sub       bool
	tok       *accessToken
	m         *Mailbox
	root      string // "me" or "users/{id}" as addressed
	immutable bool
	maxPage   int // from Prefer, 0 = none
	applied   []string
	latDone   bool
}

// latency spends the request's time once: Options.Latency for a request
// of its own, Options.SubRequestLatency for a $batch sub-request.
func (g *gctx) latency() {
	if g.latDone {
		return
	}
	g.latDone = true
	if g.sub {
		g.s.sleep(g.r.Context(), g.s.opts.SubRequestLatency)
		return
	}
	g.s.sleepLatency(g.r.Context())
}

func (g *gctx) fail(status int, code, msg string) {
	g.latency()
	graphError(g.w, g.r, status, code, msg)
}

func (g *gctx) base() string { return requestBase(g.r) + "/v1.0" }

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1.0/$batch" {
		s.serveBatch(w, r)
		return
	}
	s.handleGraph(w, r, false)
}

// parsePrefer reads the Prefer headers.
func (g *gctx) parsePrefer() {
	for _, h := range g.r.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			p = strings.TrimSpace(p)
			k, v, _ := strings.Cut(p, "=")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "odata.maxpagesize":
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					g.maxPage = n
				}
			case "idtype":
				if strings.EqualFold(v, "ImmutableId") {
					g.immutable = true
					g.applied = append(g.applied, `IdType="ImmutableId"`)
				}
			}
		}
	}
}

// pathSegments splits the path after /v1.0/, unescaping each segment and
// turning OData key syntax name('key') into name, key.
func pathSegments(r *http.Request) ([]string, error) {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/v1.0")
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, nil
	}
	var out []string
	for _, raw := range strings.Split(p, "/") {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return nil, err
		}
		if i := strings.Index(seg, "('"); i > 0 && strings.HasSuffix(seg, "')") {
			out = append(out, seg[:i], strings.ReplaceAll(seg[i+2:len(seg)-2], "''", "'"))
			continue
		}
		if i := strings.Index(seg, "("); i > 0 && strings.HasSuffix(seg, ")") {
			out = append(out, seg[:i], seg[i+1:len(seg)-1])
			continue
		}
		out = append(out, seg)
	}
	return out, nil
}

func (s *Server) handleGraph(w http.ResponseWriter, r *http.Request, sub bool) {
	g := &gctx{s: s, w: w, r: r, sub: sub}
	s.mu.Lock()
	s.stats.GraphRequests++
	if sub {
		s.stats.SubRequests++
	}
	s.mu.Unlock()
	w.Header().Set("request-id", newGUID())
	if c := r.Header.Get("client-request-id"); c != "" {
		w.Header().Set("client-request-id", c)
	}
	if f, ok := s.takeFault(); ok {
		g.latency()
		retryAfterHeader(w, f.retryAfter)
		code, msg := faultCode(f.status)
		graphError(w, r, f.status, code, msg)
		return
	}
	// authentication
	auth := r.Header.Get("Authorization")
	if auth == "" {
		g.fail(401, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	scheme, raw, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		g.fail(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience or scheme.")
		return
	}
	s.mu.Lock()
	tok := s.access[strings.TrimSpace(raw)]
	s.mu.Unlock()
	if tok == nil {
		g.fail(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format.")
		return
	}
	if !s.now().Before(tok.expires) {
		g.fail(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return
	}
	g.tok = tok
	g.parsePrefer()
	segs, err := pathSegments(r)
	if err != nil || len(segs) == 0 {
		g.fail(400, "BadRequest", "Invalid request URL.")
		return
	}
	if g.serveDirectory(segs) {
		return
	}
	// resolve the user root
	var rest []string
	switch {
	case segs[0] == "me":
		if tok.user == nil {
			g.fail(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
			return
		}
		g.m, g.root, rest = tok.user, "me", segs[1:]
	case segs[0] == "users" && len(segs) >= 2:
		m := s.Mailbox(segs[1])
		if m != nil && tok.user == nil && !strings.EqualFold(m.user.Tenant, tok.tenant) {
			m = nil // another tenant's user is not in this app's directory
		}
		if tok.user != nil && (m == nil || m != tok.user) {
			g.fail(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
			return
		}
		if m == nil {
			if len(segs) == 2 {
				g.fail(404, "Request_ResourceNotFound", "Resource '"+segs[1]+"' does not exist or one of its queried reference-property objects are not present.")
			} else {
				g.fail(404, "ErrorInvalidUser", "The requested user '"+segs[1]+"' is invalid.")
			}
			return
		}
		g.m, g.root, rest = m, "users/"+segs[1], segs[2:]
	case segs[0] == "users":
		g.fail(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	default:
		g.fail(400, "BadRequest", "Resource not found for the segment '"+segs[0]+"'.")
		return
	}
	if len(rest) > 0 && tok.user == nil && tok.app.AccessPolicyGroup != "" && !s.inGroup(tok.app.AccessPolicyGroup, g.m.user.ID) {
		g.fail(403, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.")
		return
	}
	if len(rest) > 0 && g.m.user.NoMailbox {
		g.fail(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
		return
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	release, retry, msg := s.acquire(tok.app.ClientID+"|"+g.m.user.ID, g.m.user.UPN, write)
	if release == nil {
		retryAfterHeader(w, retry)
		g.fail(429, "ApplicationThrottled", msg)
		return
	}
	defer release()
	g.latency()
	if rate := s.opts.Transient412Rate; rate > 0 && len(rest) > 0 && !write && r.Header.Get("If-Match") == "" && s.randFloat() < rate {
		s.mu.Lock()
		s.stats.Transient412++
		s.mu.Unlock()
		g.fail(412, "ErrorIrresolvableConflict", "The change key passed in the request does not match the current change key for the item.")
		return
	}
	if len(g.applied) > 0 {
		w.Header().Set("Preference-Applied", strings.Join(g.applied, ", "))
	}
	g.dispatch(rest)
}

func faultCode(status int) (string, string) {
	switch status {
	case 429:
		return "ApplicationThrottled", "Application is over its MailboxConcurrency limit."
	case 503:
		return "ServiceUnavailable", "The service is temporarily unavailable. Please retry later."
	case 504:
		return "GatewayTimeout", "The gateway did not receive a timely response from the upstream server."
	case 500:
		return "InternalServerError", "An internal server error occurred."
	case 502:
		return "BadGateway", "Bad gateway."
	case 401:
		return "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
	case 403:
		return "ErrorAccessDenied", "Access is denied. Check credentials and try again."
	case 404:
		return "ErrorItemNotFound", "The specified object was not found in the store."
	case 410:
		return CodeSyncStateNotFound, "The sync state generation is not found."
	}
	return "UnknownError", http.StatusText(status)
}

func (g *gctx) canRead() bool {
	for _, sc := range []string{"Contacts.Read", "Contacts.ReadWrite", "Contacts.Read.Shared", "Contacts.ReadWrite.Shared"} {
		if g.tok.has(sc) {
			return true
		}
	}
	return false
}

func (g *gctx) canWrite() bool {
	return g.tok.has("Contacts.ReadWrite") || g.tok.has("Contacts.ReadWrite.Shared")
}

func (g *gctx) denied() {
	g.fail(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
}

func (g *gctx) methodNotAllowed() {
	g.fail(405, "BadRequest", "The method '"+g.r.Method+"' is not allowed for this resource.")
}

func (g *gctx) dispatch(rest []string) {
	if len(rest) == 0 {
		g.serveUser()
		return
	}
	if rest[0] == "mailboxSettings" || rest[0] == "mailboxsettings" {
		g.mailboxSettings(rest[1:])
		return
	}
	write := g.r.Method != http.MethodGet && g.r.Method != http.MethodHead
	if !g.canRead() || (write && !g.canWrite()) {
		g.denied()
		return
	}
	switch rest[0] {
	case "contacts":
		g.m.mu.Lock()
		f := g.m.def
		g.m.mu.Unlock()
		g.contactsRoute(f, rest[1:])
	case "contactFolders", "contactfolders":
		if len(rest) == 1 {
			g.folderCollection(nil)
			return
		}
		if rest[1] == "delta" && len(rest) == 2 {
			g.folderDelta()
			return
		}
		g.m.mu.Lock()
		f := g.m.folderByRef(rest[1])
		g.m.mu.Unlock()
		if f == nil {
			g.folderNotFound(rest[1])
			return
		}
		g.folderRoute(f, rest[2:])
	default:
		g.fail(400, "BadRequest", "Resource not found for the segment '"+rest[0]+"'.")
	}
}

func (g *gctx) folderNotFound(id string) {
	if !looksLikeID(id) {
		g.fail(400, "ErrorInvalidIdMalformed", "Id is malformed.")
		return
	}
	g.fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")
}

func looksLikeID(id string) bool {
	if len(id) < 20 || !(strings.HasPrefix(id, "AAMkA") || strings.HasPrefix(id, "AAkALg")) {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}

func (g *gctx) serveUser() {
	if g.r.Method != http.MethodGet {
		g.methodNotAllowed()
		return
	}
	if !(g.tok.has("User.Read") || g.tok.has("User.Read.All") || g.tok.has("User.ReadBasic.All")) {
		g.fail(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	sel, err := parseUserSelect(g.r.URL.Query().Get("$select"))
	if err != nil {
		g.fail(400, "Request_BadRequest", err.Error())
		return
	}
	g.s.mu.Lock()
	f := g.m.user
	if _, du := g.s.dirUserLocked(f.ID); du != nil {
		f = du.f
	}
	g.s.mu.Unlock()
	body := userJSON(&f, sel, nil)
	body["@odata.context"] = g.base() + "/$metadata#users/$entity"
	writeJSON(g.w, 200, body)
}

// mailboxSettings serves GET …/mailboxSettings[/timeZone]: the mailbox's
// time zone as set with Mailbox.SetTimeZone ("UTC" by default). It needs
// MailboxSettings.Read or .ReadWrite, which Contacts.ReadWrite does not give.
func (g *gctx) mailboxSettings(rest []string) {
	if g.r.Method != http.MethodGet {
		g.methodNotAllowed()
		return
	}
	if !(g.tok.has("MailboxSettings.Read") || g.tok.has("MailboxSettings.ReadWrite")) {
		g.fail(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		return
	}
	g.m.mu.Lock()
	name := g.m.tzName
	g.m.mu.Unlock()
	if name == "" {
		name = "UTC"
	}
	switch {
	case len(rest) == 0:
		writeJSON(g.w, 200, map[string]any{
			"@odata.context": g.base() + "/$metadata#users('" + g.m.user.ID + "')/mailboxSettings",
			"timeZone":       name,
		})
	case len(rest) == 1 && strings.EqualFold(rest[0], "timeZone"):
		writeJSON(g.w, 200, map[string]any{
			"@odata.context": g.base() + "/$metadata#users('" + g.m.user.ID + "')/mailboxSettings/timeZone",
			"value":          name,
		})
	default:
		g.fail(400, "BadRequest", "Resource not found for the segment '"+rest[0]+"'.")
	}
}

// ---- folders ----

func (g *gctx) folderJSON(f *folder) map[string]any {
	parent := g.m.rootID
	if f.parent != nil {
		parent = f.parent.id
	}
	return map[string]any{"id": f.id, "displayName": f.name, "parentFolderId": parent}
}

func (g *gctx) folderRoute(f *folder, rest []string) {
	if len(rest) == 0 {
		g.folderItem(f)
		return
	}
	switch rest[0] {
	case "childFolders", "childfolders":
		if len(rest) == 1 {
			g.folderCollection(f)
			return
		}
		g.m.mu.Lock()
		c := g.m.folders[rest[1]]
		if c != nil && (c.deleted || c.parent != f) {
			c = nil
		}
		g.m.mu.Unlock()
		if c == nil {
			g.folderNotFound(rest[1])
			return
		}
		g.folderRoute(c, rest[2:])
	case "contacts":
		g.contactsRoute(f, rest[1:])
	default:
		g.fail(400, "BadRequest", "Resource not found for the segment '"+rest[0]+"'.")
	}
}

// folderCollection serves GET/POST on contactFolders (parent nil) or
// childFolders.
func (g *gctx) folderCollection(parent *folder) {
	m := g.m
	switch g.r.Method {
	case http.MethodGet:
		q := g.r.URL.Query()
		var flt fnode
		if fs := q.Get("$filter"); fs != "" {
			var err error
			if flt, err = parseFilter(fs); err != nil {
				g.fail(400, "ErrorInvalidUrlQueryFilter", "Invalid filter clause: "+err.Error())
				return
			}
		}
		m.mu.Lock()
		p := parent
		if p == nil {
			p = m.def
		}
		var list []*folder
		for _, f := range m.folders {
			if f.parent == p && !f.deleted {
				list = append(list, f)
			}
		}
		slices.SortFunc(list, func(a, b *folder) int { return strings.Compare(a.name, b.name) })
		list, ok := filtered(g, flt, list, func(f *folder) *filterEnv {
			fj := g.folderJSON(f)
			return &filterEnv{get: func(n string) (*string, bool) {
				v, ok := fj[canonicalFolderProp(n)].(string)
				if !ok {
					return nil, false
				}
				return &v, true
			}, coll: func(string) ([]map[string]string, bool) { return nil, false }}
		})
		if !ok {
			return
		}
		var out []any
		for _, f := range list {
			out = append(out, g.folderJSON(f))
		}
		m.mu.Unlock()
		g.writePage(out, "contactFolders")
	case http.MethodPost:
		if !g.canWrite() {
			g.denied()
			return
		}
		body, ok := g.folderBody()
		if !ok {
			return
		}
		if body.DisplayName == nil || strings.TrimSpace(*body.DisplayName) == "" {
			g.fail(400, "ErrorInvalidRequest", "The folder display name must be specified.")
			return
		}
		m.mu.Lock()
		p := parent
		if p == nil {
			p = m.def
		}
		f := m.createFolder(p, *body.DisplayName)
		var fj map[string]any
		if f != nil {
			fj = g.folderJSON(f)
		}
		m.mu.Unlock()
		if f == nil {
			g.fail(409, "ErrorFolderExists", "A folder with the specified name already exists.")
			return
		}
		fj["@odata.context"] = g.base() + "/$metadata#users('" + m.user.ID + "')/contactFolders/$entity"
		writeJSON(g.w, 201, fj)
	default:
		g.methodNotAllowed()
	}
}

func canonicalFolderProp(n string) string {
	for _, k := range []string{"id", "displayName", "parentFolderId"} {
		if strings.EqualFold(k, n) {
			return k
		}
	}
	return n
}

func (g *gctx) folderItem(f *folder) {
	m := g.m
	switch g.r.Method {
	case http.MethodGet:
		m.mu.Lock()
		fj := g.folderJSON(f)
		m.mu.Unlock()
		fj["@odata.context"] = g.base() + "/$metadata#users('" + m.user.ID + "')/contactFolders/$entity"
		writeJSON(g.w, 200, fj)
	case http.MethodPatch:
		body, ok := g.folderBody()
		if !ok {
			return
		}
		m.mu.Lock()
		if f.isDef && body.DisplayName != nil {
			m.mu.Unlock()
			g.fail(400, "ErrorCannotRenameDistinguishedFolder", "The default Contacts folder cannot be renamed.")
			return
		}
		if body.DisplayName != nil && *body.DisplayName != "" {
			for _, o := range m.folders {
				if o != f && o.parent == f.parent && !o.deleted && strings.EqualFold(o.name, *body.DisplayName) {
					m.mu.Unlock()
					g.fail(409, "ErrorFolderExists", "A folder with the specified name already exists.")
					return
				}
			}
			f.name = *body.DisplayName
			m.touchFolder(f, false)
		}
		fj := g.folderJSON(f)
		m.mu.Unlock()
		writeJSON(g.w, 200, fj)
	case http.MethodDelete:
		if f.isDef {
			g.fail(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
			return
		}
		m.mu.Lock()
		m.deleteFolder(f)
		m.mu.Unlock()
		g.w.WriteHeader(204)
	default:
		g.methodNotAllowed()
	}
}

func (m *Mailbox) deleteFolder(f *folder) {
	for _, c := range m.folders {
		if c.parent == f && !c.deleted {
			m.deleteFolder(c)
		}
	}
	for _, c := range slices.Clone(f.items) {
		m.removeContact(c)
	}
	f.deleted = true
	m.touchFolder(f, true)
}

// ---- contacts ----

func (g *gctx) readBody() ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(g.w, g.r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			g.fail(413, "RequestEntityTooLarge", fmt.Sprintf("The request body exceeds the maximum of %d bytes.", MaxBody))
		} else {
			g.fail(400, "BadRequest", "Could not read the request body.")
		}
		return nil, false
	}
	return b, true
}

func (g *gctx) contactsRoute(f *folder, rest []string) {
	if len(rest) == 0 {
		switch g.r.Method {
		case http.MethodGet:
			g.listContacts(f)
		case http.MethodPost:
			g.createContact(f)
		default:
			g.methodNotAllowed()
		}
		return
	}
	if rest[0] == "delta" && len(rest) == 1 {
		if g.s.opts.Cloud == CloudChina {
			// no v1.0 contact delta in 21Vianet: "delta" reads as an id
			g.fail(400, "ErrorInvalidIdMalformed", "Id is malformed.")
			return
		}
		if g.r.Method != http.MethodGet {
			g.methodNotAllowed()
			return
		}
		g.contactDelta(f)
		return
	}
	id := rest[0]
	g.m.mu.Lock()
	c := g.m.lookup(id)
	g.m.mu.Unlock()
	if c == nil {
		g.folderNotFound(id)
		return
	}
	switch {
	case len(rest) == 1:
		g.contactItem(c)
	case len(rest) == 2 && rest[1] == "photo":
		g.photoMeta(c)
	case len(rest) == 3 && rest[1] == "photo" && rest[2] == "$value":
		g.photoValue(c)
	default:
		g.fail(400, "BadRequest", "Resource not found for the segment '"+rest[1]+"'.")
	}
}

var contactQueryOptions = []string{"$select", "$filter", "$top", "$skip", "$orderby", "$expand", "$count", "$search", "$skiptoken", "$format"}

// parseSelect validates $select.
// folderBody is the JSON body of a folder's create or rename: its
// displayName (nil when absent); false when it answered the error for a
// body too large or not JSON.
func (g *gctx) folderBody() (body struct {
	DisplayName *string `json:"displayName"`
}, ok bool) {
	b, ok := g.readBody()
	if !ok {
		return body, false
	}
	if err := json.Unmarshal(b, &body); err != nil {
		g.fail(400, "RequestBodyRead", "Invalid JSON: "+err.Error())
		return body, false
	}
	return body, true
}

// projection reads the $select and $expand of q, answering 400 when
// either is bad (false then).
func (g *gctx) projection(q url.Values) (sel map[string]bool, sv, mv *extFilter, ok bool) {
	sel, err := parseSelect(q.Get("$select"))
	if err != nil {
		g.fail(400, "BadRequest", err.Error())
		return nil, nil, nil, false
	}
	sv, mv, err = parseExpand(q.Get("$expand"))
	if err != nil {
		g.fail(400, "BadRequest", "Invalid $expand: "+err.Error())
		return nil, nil, nil, false
	}
	return sel, sv, mv, true
}

func parseSelect(v string) (map[string]bool, error) {
	if v == "" {
		return nil, nil
	}
	out := map[string]bool{}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		canon := canonicalProp(p)
		k, ok := propKinds[canon]
		if !ok || k == kNav || k == kSingleExt || k == kMultiExt {
			return nil, fmt.Errorf("Could not find a property named '%s' on type 'microsoft.graph.contact'.", p)
		}
		out[canon] = true
	}
	return out, nil
}

// expandItem splits "name(options)".
func expandItem(item string) (string, string, bool) {
	item = strings.TrimSpace(item)
	name, opts, hasOpts := strings.Cut(item, "(")
	if hasOpts {
		if !strings.HasSuffix(opts, ")") {
			return "", "", false
		}
		opts = strings.TrimSuffix(opts, ")")
	}
	return strings.TrimSpace(name), opts, true
}

// splitTop splits s on commas outside parentheses and quotes.
func splitTop(s string) []string {
	var out []string
	depth, start, inq := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			inq = !inq
		case '(':
			if !inq {
				depth++
			}
		case ')':
			if !inq {
				depth--
			}
		case ',':
			if depth == 0 && !inq {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// parseExpand handles singleValueExtendedProperties($filter=id eq '…') and
// the multi-value form.
func parseExpand(v string) (sv, mv *extFilter, err error) {
	if v == "" {
		return nil, nil, nil
	}
	for _, item := range splitTop(v) {
		name, opts, ok := expandItem(item)
		if !ok {
			return nil, nil, fmt.Errorf("invalid $expand '%s'", item)
		}
		ef := &extFilter{}
		if opts != "" {
			k, fv, _ := strings.Cut(opts, "=")
			if !strings.EqualFold(strings.TrimSpace(k), "$filter") {
				return nil, nil, fmt.Errorf("only $filter is supported inside $expand")
			}
			n, err := parseFilter(fv)
			if err != nil {
				return nil, nil, err
			}
			ids, err := idsOfFilter(n)
			if err != nil {
				return nil, nil, err
			}
			ef.ids = ids
		}
		switch strings.ToLower(name) {
		case "singlevalueextendedproperties":
			sv = ef
		case "multivalueextendedproperties":
			mv = ef
		default:
			return nil, nil, fmt.Errorf("Could not find a property named '%s' on type 'microsoft.graph.contact'.", name)
		}
	}
	return sv, mv, nil
}

// idsOfFilter accepts "id eq 'a' or id eq 'b'".
func idsOfFilter(n fnode) ([]string, error) {
	switch x := n.(type) {
	case fCmp:
		if len(x.path) == 1 && strings.EqualFold(x.path[0], "id") && x.op == "eq" && x.lit != nil {
			return []string{*x.lit}, nil
		}
	case fAnd:
		if x.op == "or" {
			l, err := idsOfFilter(x.l)
			if err != nil {
				return nil, err
			}
			r, err := idsOfFilter(x.r)
			if err != nil {
				return nil, err
			}
			return append(l, r...), nil
		}
	}
	return nil, fmt.Errorf("the $filter of an extended property $expand must be id eq '…' (or'ed)")
}

type orderKey struct {
	prop string
	desc bool
}

func (g *gctx) pageSize(q url.Values) (int, bool) {
	size := g.s.opts.DefaultPageSize
	if g.maxPage > 0 {
		size = g.maxPage
	}
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			g.fail(400, "ErrorInvalidUrlQuery", "Invalid value for $top: '"+t+"'.")
			return 0, false
		}
		if n > 1000 {
			g.fail(400, "ErrorInvalidUrlQuery", fmt.Sprintf("The limit of '1000' for Top query has been exceeded. The value from the incoming request is '%d'.", n))
			return 0, false
		}
		size = n
	}
	if size > g.s.opts.MaxPageSize {
		size = g.s.opts.MaxPageSize
	}
	if g.maxPage > 0 && q.Get("$top") == "" {
		g.applied = append(g.applied, "odata.maxpagesize="+strconv.Itoa(size))
		g.w.Header().Set("Preference-Applied", strings.Join(g.applied, ", "))
	}
	return size, true
}

func (g *gctx) checkOptions(q url.Values, allowed []string) bool {
	for k := range q {
		if strings.HasPrefix(k, "$") && !slices.Contains(allowed, k) {
			g.fail(400, "BadRequest", "Query option '"+k+"' is not allowed.")
			return false
		}
	}
	return true
}

func (g *gctx) listContacts(f *folder) {
	q := g.r.URL.Query()
	if !g.checkOptions(q, contactQueryOptions) {
		return
	}
	if q.Get("$search") != "" {
		g.fail(400, "ErrorInvalidUrlQuery", "$search is not supported by the simulator on contacts.")
		return
	}
	sel, sv, mv, ok := g.projection(q)
	if !ok {
		return
	}
	var err error
	var flt fnode
	if fs := q.Get("$filter"); fs != "" {
		if flt, err = parseFilter(fs); err != nil {
			g.fail(400, "ErrorInvalidUrlQueryFilter", "Invalid filter clause: "+err.Error())
			return
		}
	}
	var order []orderKey
	if ob := q.Get("$orderby"); ob != "" {
		for _, part := range strings.Split(ob, ",") {
			fs := strings.Fields(part)
			if len(fs) == 0 || len(fs) > 2 {
				g.fail(400, "BadRequest", "Invalid $orderby.")
				return
			}
			p := canonicalProp(fs[0])
			k, ok := propKinds[p]
			if !ok || !(k == kString || p == "createdDateTime" || p == "lastModifiedDateTime" || k == kBirthday) {
				g.fail(400, "BadRequest", "Could not find a sortable property named '"+fs[0]+"' on type 'microsoft.graph.contact'.")
				return
			}
			order = append(order, orderKey{p, len(fs) == 2 && strings.EqualFold(fs[1], "desc")})
		}
	}
	skip := 0
	if sk := q.Get("$skip"); sk != "" {
		if skip, err = strconv.Atoi(sk); err != nil || skip < 0 {
			g.fail(400, "ErrorInvalidUrlQuery", "Invalid value for $skip.")
			return
		}
	}
	size, ok := g.pageSize(q)
	if !ok {
		return
	}
	m := g.m
	m.mu.Lock()
	matched, ok := filtered(g, flt, f.items, func(c *contact) *filterEnv { return contactFilterEnv(m, c) })
	if !ok {
		return
	}
	if len(order) > 0 {
		slices.SortStableFunc(matched, func(a, b *contact) int {
			for _, o := range order {
				c := strings.Compare(sortValue(a, o.prop), sortValue(b, o.prop))
				if o.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	total := len(matched)
	if skip > len(matched) {
		skip = len(matched)
	}
	end := min(skip+size, len(matched))
	ro := m.renderOpts(g.immutable, sv, mv)
	ro.selectSet = sel
	vals := make([]json.RawMessage, 0, end-skip)
	for _, c := range matched[skip:end] {
		vals = append(vals, c.render(m, ro))
	}
	m.mu.Unlock()
	out := map[string]any{
		"@odata.context": g.base() + "/$metadata#users('" + m.user.ID + "')/contacts",
		"value":          vals,
	}
	if strings.EqualFold(q.Get("$count"), "true") {
		out["@odata.count"] = total
	}
	if end < total && size > 0 {
		out["@odata.nextLink"] = g.nextLink(strings.TrimPrefix(g.r.URL.EscapedPath(), "/v1.0"), q, "$skip", strconv.Itoa(end))
	}
	writeJSON(g.w, 200, out)
}

// filtered returns the items for which flt (nil: every item) holds in
// the environment env gives for each, with g.m.mu held. When flt fails
// it unlocks g.m.mu, answers 400 and returns ok=false.
func filtered[T any](g *gctx, flt fnode, items []T, env func(T) *filterEnv) (kept []T, ok bool) {
	for _, it := range items {
		if flt != nil {
			pass, err := evalFilter(flt, env(it))
			if err != nil {
				g.m.mu.Unlock()
				g.fail(400, "ErrorInvalidUrlQueryFilter", "Invalid filter clause: "+err.Error())
				return nil, false
			}
			if !pass {
				continue
			}
		}
		kept = append(kept, it)
	}
	return kept, true
}

// odataQuery encodes a query keeping '$' literal, as Graph's links do.
func odataQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "%24", "$")
}

// nextLink is the @odata.nextLink to path (under g.base()) that repeats
// the query options q with option key set to value.
func (g *gctx) nextLink(path string, q url.Values, key, value string) string {
	nq := maps.Clone(q)
	nq.Set(key, value)
	return g.base() + path + "?" + odataQuery(nq)
}

func sortValue(c *contact, p string) string {
	switch p {
	case "createdDateTime":
		return c.created.Format(time.RFC3339)
	case "lastModifiedDateTime":
		return c.modified.Format(time.RFC3339)
	case "birthday":
		if c.birthday == nil {
			return ""
		}
		return c.birthday.Format(time.RFC3339)
	}
	return strings.ToLower(c.str[p])
}

func (g *gctx) writePage(items []any, ctx string) {
	q := g.r.URL.Query()
	size, ok := g.pageSize(q)
	if !ok {
		return
	}
	skip, _ := strconv.Atoi(q.Get("$skip"))
	skip = max(0, min(skip, len(items)))
	end := min(skip+size, len(items))
	out := map[string]any{"@odata.context": g.base() + "/$metadata#users('" + g.m.user.ID + "')/" + ctx, "value": append([]any{}, items[skip:end]...)}
	if end < len(items) {
		out["@odata.nextLink"] = g.nextLink(strings.TrimPrefix(g.r.URL.EscapedPath(), "/v1.0"), q, "$skip", strconv.Itoa(end))
	}
	writeJSON(g.w, 200, out)
}

func (g *gctx) checkJSONType() bool {
	ct := g.r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		g.fail(415, "UnsupportedMediaType", "A supported MIME type could not be found that matches the content type of the response. Content-Type '"+ct+"' is not supported; use application/json.")
		return false
	}
	return true
}

func (g *gctx) contactContext() string {
	return g.base() + "/$metadata#users('" + g.m.user.ID + "')/contacts/$entity"
}

func withContext(body []byte, ctx string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":`)
	x, _ := json.Marshal(ctx)
	b.Write(x)
	b.WriteByte(',')
	b.Write(body[1:])
	return b.Bytes()
}

// contactBody reads the JSON contact of a create or an update, answering
// the error Graph gives for another content type, a body too large or
// one that is no contact (false then).
func (g *gctx) contactBody() (*contactPatch, bool) {
	if !g.checkJSONType() {
		return nil, false
	}
	b, ok := g.readBody()
	if !ok {
		return nil, false
	}
	p, e := parseContactBody(b)
	if e != nil {
		g.fail(400, e.code, e.msg)
		return nil, false
	}
	return p, true
}

func (g *gctx) createContact(f *folder) {
	p, ok := g.contactBody()
	if !ok {
		return
	}
	m := g.m
	m.mu.Lock()
	if f.deleted {
		m.mu.Unlock()
		g.fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	c := m.addContact(f, p)
	body := c.render(m, m.renderOpts(g.immutable, nil, nil))
	m.mu.Unlock()
	writeJSON(g.w, 201, withContext(body, g.contactContext()))
}

// ifMatchOK checks If-Match against the current changeKey (m.mu held).
func (g *gctx) ifMatchOK(c *contact) bool {
	im := strings.TrimSpace(g.r.Header.Get("If-Match"))
	if im == "" || im == "*" || g.s.opts.IgnoreIfMatch {
		return true
	}
	for _, part := range strings.Split(im, ",") {
		v := strings.TrimSpace(part)
		v = strings.TrimPrefix(v, "W/")
		v = strings.Trim(v, `"`)
		if v == c.changeKey {
			return true
		}
	}
	return false
}

// lockItem locks g.m.mu for a request on contact c and checks that c is
// still in the store and, with ifMatch, that If-Match holds. When either
// fails it unlocks, answers 404 or 412 and returns false.
func (g *gctx) lockItem(c *contact, ifMatch bool) bool {
	g.m.mu.Lock()
	if g.m.lookup(g.idOf(c)) == nil {
		g.m.mu.Unlock()
		g.fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")
		return false
	}
	if ifMatch && !g.ifMatchOK(c) {
		g.m.mu.Unlock()
		g.fail(412, "ErrorIrresolvableConflict", "The change key passed in the request does not match the current change key for the item.")
		return false
	}
	return true
}

func (g *gctx) contactItem(c *contact) {
	m := g.m
	q := g.r.URL.Query()
	switch g.r.Method {
	case http.MethodGet:
		if !g.checkOptions(q, []string{"$select", "$expand"}) {
			return
		}
		sel, sv, mv, ok := g.projection(q)
		if !ok {
			return
		}
		if !g.lockItem(c, false) {
			return
		}
		ro := m.renderOpts(g.immutable, sv, mv)
		ro.selectSet = sel
		body := c.render(m, ro)
		m.mu.Unlock()
		writeJSON(g.w, 200, withContext(body, g.contactContext()))
	case http.MethodPatch:
		p, ok := g.contactBody()
		if !ok {
			return
		}
		if !g.lockItem(c, true) {
			return
		}
		c.apply(p, !g.s.opts.NoDisplayNameRegeneration)
		m.bump(c)
		body := c.render(m, m.renderOpts(g.immutable, nil, nil))
		m.mu.Unlock()
		writeJSON(g.w, 200, withContext(body, g.contactContext()))
	case http.MethodDelete:
		if !g.lockItem(c, true) {
			return
		}
		m.removeContact(c)
		m.mu.Unlock()
		g.w.WriteHeader(204)
	default:
		g.methodNotAllowed()
	}
}

func (g *gctx) idOf(c *contact) string { return g.m.contactID(c, true) }

// photoOf returns the photo of c and its ETag; nil, after answering 404,
// when c has none.
func (g *gctx) photoOf(c *contact) (photo []byte, tag string) {
	g.m.mu.Lock()
	photo, tag = c.photo, c.photoTag
	g.m.mu.Unlock()
	if photo == nil {
		g.fail(404, "ErrorItemNotFound", "The photo wasn't found.")
	}
	return photo, tag
}

func (g *gctx) photoMeta(c *contact) {
	if g.r.Method != http.MethodGet {
		g.methodNotAllowed()
		return
	}
	m := g.m
	photo, tag := g.photoOf(c)
	if photo == nil {
		return
	}
	cfg, format, _ := image.DecodeConfig(bytes.NewReader(photo))
	ct := "image/jpeg"
	if format != "" {
		ct = "image/" + format
	}
	writeJSON(g.w, 200, map[string]any{
		"@odata.context":          g.base() + "/$metadata#users('" + m.user.ID + "')/contacts('" + g.m.contactID(c, g.immutable) + "')/photo/$entity",
		"@odata.mediaContentType": ct,
		"@odata.mediaEtag":        tag,
		"id":                      fmt.Sprintf("%dX%d", cfg.Width, cfg.Height),
		"height":                  cfg.Height,
		"width":                   cfg.Width,
	})
}

// PhotoNotSupportedStatus and PhotoNotSupportedCode are the answer to a
// contact photo write on a personal account's mailbox (Mailbox.SetPersonal),
// with the message PhotoNotSupportedMessage.
const (
	PhotoNotSupportedStatus  = http.StatusBadRequest
	PhotoNotSupportedCode    = "BadRequest"
	PhotoNotSupportedMessage = "The OData request is not supported."
)

func (g *gctx) photoValue(c *contact) {
	m := g.m
	if g.r.Method != http.MethodGet {
		m.mu.Lock()
		personal := m.personal
		m.mu.Unlock()
		if personal {
			g.fail(PhotoNotSupportedStatus, PhotoNotSupportedCode, PhotoNotSupportedMessage)
			return
		}
	}
	switch g.r.Method {
	case http.MethodGet:
		photo, tag := g.photoOf(c)
		if photo == nil {
			return
		}
		_, format, _ := image.DecodeConfig(bytes.NewReader(photo))
		if format == "" {
			format = "jpeg"
		}
		g.w.Header().Set("Content-Type", "image/"+format)
		g.w.Header().Set("ETag", tag)
		g.w.Header().Set("Content-Length", strconv.Itoa(len(photo)))
		g.w.WriteHeader(200)
		g.w.Write(photo)
	case http.MethodPut, http.MethodPatch:
		b, err := io.ReadAll(io.LimitReader(g.r.Body, MaxPhoto+1))
		if err != nil {
			g.fail(400, "BadRequest", "Could not read the request body.")
			return
		}
		if len(b) > MaxPhoto {
			g.fail(413, "RequestEntityTooLarge", fmt.Sprintf("The photo exceeds the maximum size of %d bytes.", MaxPhoto))
			return
		}
		if len(b) == 0 {
			g.fail(400, "ErrorInvalidRequest", "The photo body is empty.")
			return
		}
		if !g.s.opts.AcceptAnyPhoto {
			if _, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil {
				g.fail(400, "ErrorInvalidImage", "The photo is not a valid image (JPEG, PNG or GIF).")
				return
			}
		}
		m.mu.Lock()
		// Exchange keeps the photo as an attachment of the contact:
		// adding one alters the item's change key (and its modification
		// time), so the key a client held before the PUT is stale.
		c.setPhoto(b)
		m.bump(c)
		m.mu.Unlock()
		g.w.WriteHeader(200)
	case http.MethodDelete:
		m.mu.Lock()
		had := c.photo != nil
		c.setPhoto(nil)
		if had {
			m.bump(c)
		}
		m.mu.Unlock()
		g.w.WriteHeader(204)
	default:
		g.methodNotAllowed()
	}
}
