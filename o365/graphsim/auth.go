package graphsim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GraphResource is the resource prefix of Graph scopes.
const GraphResource = "https://graph.microsoft.com/"

// ChinaGraphResource is the resource prefix of Graph scopes in the China
// cloud (21Vianet); tokens do not cross clouds.
const ChinaGraphResource = "https://microsoftgraph.chinacloudapi.cn/"

// graphResource is the resource prefix of Graph scopes in the simulated
// cloud.
func (s *Server) graphResource() string {
	if s.opts.Cloud == CloudChina {
		return ChinaGraphResource
	}
	return GraphResource
}

// App is a registered client application.
type App struct {
	ClientID string
	// Secret is the client secret; empty for none.
	Secret string
	// Certificate verifies client assertions (RSA keys only, as Entra).
	Certificate *x509.Certificate
	// Tenant is the app's home tenant id or domain; empty is the server's
	// tenant. A single-tenant app (AudienceMyOrg) answers only there.
	Tenant string
	// Audience is the portal's "Supported account types"; the zero value is
	// AudienceMyOrg, the portal's default (single tenant).
	Audience Audience
	// RedirectURIs for the authorization-code flow. A loopback URI
	// (http://localhost or http://127.0.0.1) matches any port.
	RedirectURIs []string
	// PublicClient is the portal's "Allow public client flows": the
	// delegated flows (device code, code, refresh) without a client
	// credential. Without it every token request needs the secret or a
	// certificate assertion (AADSTS7000218), as at Microsoft, even for an
	// app that has neither.
	PublicClient bool
	// ReadOnly grants app-only tokens Contacts.Read instead of
	// Contacts.ReadWrite.
	ReadOnly bool
	// MailboxSettings grants app-only tokens the application permission
	// MailboxSettings.Read (with admin consent); without it, as at
	// Microsoft, an app-only token cannot read mailboxSettings (403).
	MailboxSettings bool
	// Roles, when set, are the application permissions (app roles) an
	// administrator consented to, exactly as app-only tokens carry them
	// (e.g. "User.Read.All", "GroupMember.Read.All", "Contacts.ReadWrite");
	// they replace the defaults (Contacts.ReadWrite or, with ReadOnly,
	// Contacts.Read, plus User.Read.All and, with MailboxSettings,
	// MailboxSettings.Read).
	Roles []string
	// AccessPolicyGroup plays an Exchange application access policy
	// (New-ApplicationAccessPolicy -AccessRight RestrictAccess) that limits
	// the app's app-only tokens to the mailboxes of this group's members:
	// any other mailbox answers 403 ErrorAccessDenied ("[RAOP]"). Empty:
	// no policy, every mailbox of the tenant.
	AccessPolicyGroup string
	// SignInFrequency plays a Conditional Access sign-in frequency policy
	// on the app: a refresh more than this long after the user signed in
	// answers invalid_grant AADSTS70043. Zero: no policy.
	SignInFrequency time.Duration
	// Withheld are delegated permissions (e.g. "Contacts.ReadWrite") nobody
	// consents to for this app (user consent blocked for them, or the user
	// unticked them): an authorization grants the rest, and the token
	// answer's scope says what was granted (see consent.go).
	Withheld []string
}

func (a *App) public() bool { return a.PublicClient }

// Audience is an app registration's sign-in audience (the manifest's
// signInAudience, the portal's "Supported account types").
type Audience string

// The sign-in audiences of the portal.
const (
	// AudienceMyOrg is "Accounts in this organizational directory only
	// (Single tenant)": only /<tenant id or domain> of the app's tenant.
	AudienceMyOrg Audience = "AzureADMyOrg"
	// AudienceMultipleOrgs is "Accounts in any organizational directory
	// (Any Microsoft Entra ID tenant - Multitenant)": /organizations,
	// /common or any tenant, never /consumers.
	AudienceMultipleOrgs Audience = "AzureADMultipleOrgs"
	// AudienceOrgsAndPersonal is "... Multitenant and personal Microsoft
	// accounts (e.g. Skype, Xbox)": every authority.
	AudienceOrgsAndPersonal Audience = "AzureADandPersonalMicrosoftAccount"
	// AudiencePersonal is "Personal Microsoft accounts only": /consumers
	// and /common.
	AudiencePersonal Audience = "PersonalMicrosoftAccount"
)

// consumersTenant is the tenant id of personal Microsoft accounts.
const consumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// User is a directory user with (unless NoMailbox) a mailbox.
type User struct {
	ID, UPN, DisplayName, Password string
	// NoMailbox (no Exchange Online licence) makes mailbox requests answer
	// 404 MailboxNotEnabledForRESTAPI; mail is then null unless Mail is set.
	NoMailbox bool
	// Tenant is the user's tenant id or domain ("" the default tenant,
	// Options.Tenant); see [Server.AddTenant].
	Tenant string

	// Directory fields, served by /users, /users/delta and group members.
	// Mail defaults to the UPN for a user with a mailbox, ProxyAddresses
	// to "SMTP:<UPN>".
	GivenName, Surname, Mail                          string
	OtherMails, ProxyAddresses, BusinessPhones        []string
	MobilePhone, JobTitle, Department, OfficeLocation string
	CompanyName, PreferredLanguage                    string
	// Disabled is accountEnabled false; Guest is userType Guest.
	Disabled, Guest bool
	// Manager is the id or UPN of the user's manager.
	Manager string
	// Photo is the profile photo (JPEG bytes) of /users/{id}/photo/$value.
	Photo []byte
}

type accessToken struct {
	tenant  string // tenant id the token was issued in
	app     *App
	user    *Mailbox // nil for app-only
	scopes  []string // normalized, e.g. "Contacts.ReadWrite"
	expires time.Time
}

func (t *accessToken) has(scope string) bool {
	for _, s := range t.scopes {
		if strings.EqualFold(s, scope) {
			return true
		}
	}
	return false
}

type refreshToken struct {
	clientID string
	userID   string
	scopes   []string
	expires  time.Time
	usedAt   time.Time
	used     bool
	gen      int
	authTime time.Time // when the user signed in (kept across rotations)
}

type authCode struct {
	clientID, redirectURI, challenge, method string
	userID                                   string
	scopes                                   []string
	expires                                  time.Time
	redeemed                                 bool
	nonce                                    string
}

type deviceCode struct {
	code, userCode, clientID string
	scopes                   []string
	expires                  time.Time
	interval                 time.Duration
	lastPoll                 time.Time
	state                    string // pending, approved, declined, redeemed
	userID                   string
}

type authSession struct {
	app                                              *App
	redirectURI, state, challenge, method, loginHint string
	scopes                                           []string
	tenant, nonce                                    string
}

// AddApp registers a client application (replacing one with the same id).
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[a.ClientID] = &a
}

// AddUser creates a user in their tenant's directory and their mailbox,
// with its default Contacts folder. ID defaults to a GUID, UPN to
// "<id>@<tenant domain>". It panics on an unknown User.Tenant.
func (s *Server) AddUser(u User) *Mailbox {
	t := s.tenantOf(u.Tenant)
	if t == nil {
		panic(fmt.Sprintf("graphsim: AddUser %s: unknown tenant %q", u.UPN, u.Tenant))
	}
	u.Tenant = t.id
	if u.ID == "" {
		u.ID = stableGUID("user:" + u.UPN)
	}
	if u.UPN == "" {
		u.UPN = u.ID + "@" + t.domain
	}
	if u.DisplayName == "" {
		u.DisplayName = strings.SplitN(u.UPN, "@", 2)[0]
	}
	u.OtherMails, u.ProxyAddresses, u.BusinessPhones = slices.Clone(u.OtherMails), slices.Clone(u.ProxyAddresses), slices.Clone(u.BusinessPhones)
	u.Photo = slices.Clone(u.Photo)
	m := newMailbox(s, u)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(u.ID)] = m
	s.users[strings.ToLower(u.UPN)] = m
	s.userList = append(s.userList, m)
	t.addDirUserLocked(m)
	return m
}

// Mailbox returns the mailbox of a user by id or UPN (case-insensitive), or nil.
func (s *Server) Mailbox(userIDOrUPN string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[strings.ToLower(userIDOrUPN)]
}

// RevokeRefreshTokens invalidates every refresh token issued to the user so
// far (as a password reset would): the next refresh answers invalid_grant
// AADSTS50173. Access tokens stay valid until they expire.
func (s *Server) RevokeRefreshTokens(userID string) {
	m := s.Mailbox(userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m != nil {
		userID = m.user.ID
	}
	s.userGen[userID]++
}

// ApproveDeviceCode plays the user who enters userCode at the device login
// page and consents as userID (id or UPN).
func (s *Server) ApproveDeviceCode(userCode, userID string) error {
	m := s.Mailbox(userID)
	if m == nil {
		return fmt.Errorf("graphsim: no user %q", userID)
	}
	if e := s.signInRefused(m, ""); e != nil {
		return fmt.Errorf("graphsim: %s cannot sign in: %w", m.user.UPN, e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.userCodes[normUserCode(userCode)]
	if d == nil {
		return fmt.Errorf("graphsim: unknown user code %q", userCode)
	}
	if s.now().After(d.expires) {
		return fmt.Errorf("graphsim: user code %q expired", userCode)
	}
	if d.state != "pending" {
		return fmt.Errorf("graphsim: user code %q is %s", userCode, d.state)
	}
	d.state, d.userID = "approved", m.user.ID
	return nil
}

// DeclineDeviceCode plays the user who declines the sign-in of userCode.
func (s *Server) DeclineDeviceCode(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.userCodes[normUserCode(userCode)]
	if d == nil {
		return fmt.Errorf("graphsim: unknown user code %q", userCode)
	}
	if d.state != "pending" {
		return fmt.Errorf("graphsim: user code %q is %s", userCode, d.state)
	}
	d.state = "declined"
	return nil
}

// PendingUserCodes lists the user codes waiting for approval.
func (s *Server) PendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for c, d := range s.userCodes {
		if d.state == "pending" && !s.now().After(d.expires) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// IssueToken mints an access token directly (a test shortcut around the
// token endpoint). userID "" makes an app-only token. Scopes default to
// Contacts.ReadWrite (delegated) or the app's role (app-only).
func (s *Server) IssueToken(clientID, userID string, scopes ...string) (string, error) {
	var m *Mailbox
	if userID != "" {
		if m = s.Mailbox(userID); m == nil {
			return "", fmt.Errorf("graphsim: no user %q", userID)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.apps[clientID]
	if app == nil {
		return "", fmt.Errorf("graphsim: no app %q", clientID)
	}
	if len(scopes) == 0 {
		scopes = []string{"Contacts.ReadWrite", "User.Read"}
		if m == nil {
			scopes = appRoles(app)
		}
	}
	return s.mintAccessLocked(app, m, scopes, ""), nil
}

func appRoles(a *App) []string {
	if a.Roles != nil {
		return slices.Clone(a.Roles)
	}
	roles := []string{"Contacts.ReadWrite", "User.Read.All"}
	if a.ReadOnly {
		roles[0] = "Contacts.Read"
	}
	if a.MailboxSettings {
		roles = append(roles, "MailboxSettings.Read")
	}
	return roles
}

// mintAccessLocked makes an access token (s.mu held). Its tenant is the
// user's for a delegated token; for an app-only one the tenant the token
// was asked in (authority), else the app's home tenant.
func (s *Server) mintAccessLocked(app *App, m *Mailbox, scopes []string, authority string) string {
	tok := "eyJ0eXAiOiJKV1QiLCJzaW0iOnRydWV9." + randToken(48)
	var tid string
	switch {
	case m != nil:
		tid = m.user.Tenant
	default:
		t := s.tenantLocked(authority)
		if t == nil {
			t = s.tenantLocked(app.Tenant)
		}
		if t == nil {
			t = s.tenants[0]
		}
		tid = t.id
	}
	s.access[tok] = &accessToken{tenant: tid, app: app, user: m, scopes: scopes, expires: s.now().Add(s.opts.TokenLifetime)}
	return tok
}

// ---- login host ----

type aadError struct {
	status int
	err    string
	code   int
	desc   string
}

func (e *aadError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.err, e.code, e.desc) }

func aerr(status int, err string, code int, format string, a ...any) *aadError {
	return &aadError{status, err, code, fmt.Sprintf(format, a...)}
}

func (s *Server) writeAADError(w http.ResponseWriter, e *aadError) {
	trace, corr := newGUID(), newGUID()
	now := s.now().UTC()
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.code, e.desc, trace, corr, now.Format("2006-01-02 15:04:05Z"))
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSONPlain(w, e.status, map[string]any{
		"error":             e.err,
		"error_description": desc,
		"error_codes":       []int{e.code},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.code),
	})
}

func writeJSONPlain(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[1] != "oauth2" || parts[2] != "v2.0" {
		s.writeAADError(w, aerr(404, "invalid_request", 900561, "The endpoint only accepts /{tenant}/oauth2/v2.0/{authorize|token|devicecode}."))
		return
	}
	tenant, endpoint := parts[0], parts[3]
	if e := s.checkTenant(tenant); e != nil {
		s.writeAADError(w, e)
		return
	}
	switch endpoint {
	case "token":
		s.serveToken(w, r, tenant)
	case "devicecode":
		s.serveDeviceCode(w, r, tenant)
	case "authorize":
		s.serveAuthorize(w, r, tenant)
	default:
		s.writeAADError(w, aerr(404, "invalid_request", 900561, "The endpoint '%s' is not supported.", endpoint))
	}
}

func (s *Server) checkTenant(t string) *aadError {
	switch strings.ToLower(t) {
	case "common", "organizations", "consumers":
		return nil
	}
	if s.tenantOf(t) != nil {
		return nil
	}
	return aerr(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", t)
}

// ourTenant reports whether t names the server's tenant (id or domain).
func (s *Server) ourTenant(t string) bool {
	return strings.EqualFold(t, s.opts.Tenant) || strings.EqualFold(t, s.opts.TenantDomain)
}

// checkAudience refuses the authority tenant when the app's sign-in
// audience does not allow it, with Microsoft's codes.
func (s *Server) checkAudience(app *App, tenant string) *aadError {
	t := strings.ToLower(tenant)
	notFound := func(dir string) *aadError {
		return aerr(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", app.ClientID, dir)
	}
	switch app.Audience {
	case "", AudienceMyOrg:
		switch t {
		case "organizations":
			return aerr(400, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials.")
		case "common":
			return aerr(400, "invalid_request", 50194, "Application '%s' is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.", app.ClientID)
		case "consumers":
			return notFound(consumersTenant)
		}
		if home, at := s.tenantOf(app.Tenant), s.tenantOf(t); home != nil && home == at {
			return nil
		}
		return notFound(tenant)
	case AudienceMultipleOrgs:
		if t == "consumers" {
			return notFound(consumersTenant)
		}
	case AudiencePersonal:
		if t != "consumers" && t != "common" {
			return aerr(400, "invalid_request", 9002331, "Application '%s' is configured for use by Microsoft Account users only. Please use the /consumers endpoint to serve this request.", app.ClientID)
		}
	case AudienceOrgsAndPersonal:
	default:
		return aerr(400, "invalid_request", 90002, "graphsim: app '%s' has an unknown sign-in audience %q.", app.ClientID, app.Audience)
	}
	return nil
}

// normScopes splits a scope parameter and strips the Graph resource prefix
// (resource: the simulated cloud's).
func normScopes(raw, resource string) []string {
	var out []string
	for _, sc := range strings.Fields(raw) {
		if len(sc) > len(resource) && strings.EqualFold(sc[:len(resource)], resource) {
			sc = sc[len(resource):]
		}
		out = append(out, sc)
	}
	return out
}

var delegatedScopes = []string{"Contacts.Read", "Contacts.ReadWrite", "Contacts.Read.Shared", "Contacts.ReadWrite.Shared",
	"User.Read", "User.ReadBasic.All", "User.Read.All", "MailboxSettings.Read", "MailboxSettings.ReadWrite",
	"offline_access", "openid", "profile", "email", ".default"}

func checkDelegatedScopes(raw, resource string) ([]string, *aadError) {
	scopes := normScopes(raw, resource)
	if len(scopes) == 0 {
		return nil, aerr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	var out []string
	for _, sc := range scopes {
		i := slices.IndexFunc(delegatedScopes, func(k string) bool { return strings.EqualFold(k, sc) })
		if i < 0 {
			return nil, aerr(400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", sc)
		}
		if delegatedScopes[i] == ".default" {
			out = append(out, "Contacts.ReadWrite", "User.Read")
			continue
		}
		out = append(out, delegatedScopes[i])
	}
	return out, nil
}

func (s *Server) lookupApp(clientID, tenant string) (*App, *aadError) {
	if clientID == "" {
		return nil, aerr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	s.mu.Lock()
	app := s.apps[clientID]
	s.mu.Unlock()
	if app == nil {
		return nil, aerr(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
	}
	if e := s.checkAudience(app, tenant); e != nil {
		return nil, e
	}
	return app, nil
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// authenticateClient checks a client secret or assertion. required: a
// credential must be presented (confidential use).
func (s *Server) authenticateClient(r *http.Request, app *App, tenant string, required bool) *aadError {
	secret := r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		if uu, _ := url.QueryUnescape(u); uu == app.ClientID {
			secret, _ = url.QueryUnescape(p)
		}
	}
	assertion := r.PostForm.Get("client_assertion")
	switch {
	case secret != "" && assertion != "":
		return aerr(400, "invalid_request", 90023, "Only one client credential may be presented: client_secret or client_assertion.")
	case secret != "":
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
			return aerr(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID)
		}
		return nil
	case assertion != "":
		if t := r.PostForm.Get("client_assertion_type"); t != assertionType {
			return aerr(400, "invalid_request", 700024, "client_assertion_type must be '%s', got '%s'.", assertionType, t)
		}
		return s.verifyAssertion(r, app, tenant, assertion)
	case required:
		return aerr(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	return nil
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// verifyAssertion checks a client assertion JWT against the app's certificate.
func (s *Server) verifyAssertion(r *http.Request, app *App, tenant, jwt string) *aadError {
	bad := func(code int, f string, a ...any) *aadError { return aerr(401, "invalid_client", code, f, a...) }
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return bad(50027, "JWT token is invalid or malformed.")
	}
	hb, err1 := b64url(parts[0])
	cb, err2 := b64url(parts[1])
	sig, err3 := b64url(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return bad(50027, "JWT token is invalid or malformed.")
	}
	var hdr struct {
		Alg     string `json:"alg"`
		Typ     string `json:"typ"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var cl struct {
		Aud json.RawMessage `json:"aud"`
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Jti string          `json:"jti"`
		Nbf *float64        `json:"nbf"`
		Iat *float64        `json:"iat"`
		Exp *float64        `json:"exp"`
	}
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &cl) != nil {
		return bad(50027, "JWT token is invalid or malformed.")
	}
	if app.Certificate == nil {
		return bad(700027, "Client assertion failed signature validation. No certificate is registered on application '%s'.", app.ClientID)
	}
	der := app.Certificate.Raw
	s1 := sha1.Sum(der)
	s256 := sha256.Sum256(der)
	switch {
	case hdr.X5tS256 != "":
		if got, _ := b64url(hdr.X5tS256); subtle.ConstantTimeCompare(got, s256[:]) != 1 {
			return bad(700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s']", hdr.X5tS256)
		}
	case hdr.X5t != "":
		if got, _ := b64url(hdr.X5t); subtle.ConstantTimeCompare(got, s1[:]) != 1 {
			return bad(700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s']", hdr.X5t)
		}
	default:
		return bad(700027, "Client assertion contains no x5t or x5t#S256 header to identify the certificate.")
	}
	pub, ok := app.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad(700027, "Client assertion failed signature validation: only RSA certificates are supported.")
	}
	signed := []byte(parts[0] + "." + parts[1])
	digest := sha256.Sum256(signed)
	var verr error
	switch hdr.Alg {
	case "RS256":
		verr = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		verr = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		verr = errors.New("unsupported alg " + hdr.Alg)
	}
	if verr != nil {
		return bad(700027, "Client assertion failed signature validation. (%v)", verr)
	}
	// audience
	var auds []string
	var one string
	if json.Unmarshal(cl.Aud, &one) == nil {
		auds = []string{one}
	} else {
		json.Unmarshal(cl.Aud, &auds)
	}
	want := s.acceptedAudiences(r, tenant)
	okAud := false
	for _, a := range auds {
		if slices.Contains(want, strings.ToLower(strings.TrimRight(a, "/"))) {
			okAud = true
		}
	}
	if !okAud {
		return bad(700212, "No matching federated identity record found for presented assertion audience '%s'. The audience must be the token endpoint: '%s'.", strings.Join(auds, " "), want[0])
	}
	if cl.Iss != app.ClientID || cl.Sub != app.ClientID {
		return bad(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
	}
	if cl.Exp == nil {
		return bad(700024, "Client assertion contains no exp claim.")
	}
	now := s.now()
	exp := time.Unix(int64(*cl.Exp), 0)
	start := cl.Nbf
	if start == nil {
		start = cl.Iat
	}
	if start != nil {
		nbf := time.Unix(int64(*start), 0)
		if exp.Sub(nbf) > 10*time.Minute {
			return bad(700024, "Client assertion is not within its valid time range: exp is more than 10 minutes after nbf. Current time: %s, assertion valid from %s, expiry time of assertion %s.", now.UTC().Format(time.RFC3339), nbf.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
		}
		if now.Add(s.opts.AssertionClockSkew).Before(nbf) {
			return bad(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.", now.UTC().Format(time.RFC3339), nbf.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
		}
	}
	if now.Add(-s.opts.AssertionClockSkew).After(exp) {
		return bad(700024, "Client assertion is not within its valid time range. Current time: %s, expiry time of assertion %s.", now.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
	}
	if cl.Jti == "" {
		return bad(700025, "Client assertion contains no jti claim.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for j, t := range s.jtis {
		if now.After(t) {
			delete(s.jtis, j)
		}
	}
	key := app.ClientID + "|" + cl.Jti
	if _, used := s.jtis[key]; used {
		return bad(700025, "Client assertion has already been used (jti '%s' replayed).", cl.Jti)
	}
	s.jtis[key] = exp.Add(s.opts.AssertionClockSkew)
	return nil
}

// requestBase is scheme://host of the request as a client computed it.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	return scheme + "://" + host
}

func (s *Server) acceptedAudiences(r *http.Request, tenant string) []string {
	base := strings.ToLower(requestBase(r))
	var out []string
	names := []string{tenant}
	if t := s.tenantOf(tenant); t != nil {
		names = append(names, t.id, t.domain)
	} else {
		names = append(names, s.opts.Tenant, s.opts.TenantDomain)
	}
	for _, t := range names {
		out = append(out, base+"/"+strings.ToLower(t)+"/oauth2/v2.0/token")
	}
	out = append(out, base+"/"+strings.ToLower(names[1])+"/v2.0")
	return out
}

// ---- token endpoint ----

type tokenResult struct {
	app    *App
	user   *Mailbox
	scopes []string
	rt     bool // issue a refresh token
	// authTime is when the user signed in: now for code and device
	// grants, the refreshed token's for refresh grants.
	authTime time.Time
	nonce    string // of the authorization request, for the ID token
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	s.mu.Lock()
	s.stats.TokenRequests++
	failing := s.tokenFail > 0
	if failing {
		s.tokenFail--
	}
	s.mu.Unlock()
	if failing {
		s.writeAADError(w, aerr(503, "temporarily_unavailable", 50196, "The server is temporarily unavailable. Retry the request."))
		return
	}
	if !s.readTokenForm(w, r) {
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	if grant == "" {
		s.writeAADError(w, aerr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."))
		return
	}
	app, e := s.lookupApp(f.Get("client_id"), tenant)
	if e != nil {
		s.writeAADError(w, e)
		return
	}
	var res *tokenResult
	switch grant {
	case "authorization_code":
		res, e = s.grantCode(r, app, tenant)
	case "refresh_token":
		res, e = s.grantRefresh(r, app, tenant)
	case "urn:ietf:params:oauth:grant-type:device_code":
		res, e = s.grantDevice(r, app, tenant)
	case "client_credentials":
		res, e = s.grantClient(r, app, tenant)
	default:
		e = aerr(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", grant)
	}
	if e != nil {
		s.writeAADError(w, e)
		return
	}
	s.mu.Lock()
	at := s.mintAccessLocked(res.app, res.user, res.scopes, tenant)
	out := map[string]any{
		"token_type":     "Bearer",
		"scope":          scopeString(res.scopes, res.user == nil, s.graphResource()),
		"expires_in":     int(s.opts.TokenLifetime / time.Second),
		"ext_expires_in": int(s.opts.TokenLifetime / time.Second),
		"access_token":   at,
	}
	if res.rt {
		rt := "1.AXsA" + randToken(64)
		auth := res.authTime
		if auth.IsZero() {
			auth = s.now()
		}
		s.refresh[rt] = &refreshToken{clientID: res.app.ClientID, userID: res.user.user.ID, scopes: res.scopes,
			expires: s.now().Add(s.opts.RefreshTokenLifetime), gen: s.userGen[res.user.user.ID], authTime: auth}
		out["refresh_token"] = rt
		out["refresh_token_expires_in"] = int(s.opts.RefreshTokenLifetime / time.Second)
	}
	s.mu.Unlock()
	if res.user != nil && slices.Contains(res.scopes, "openid") {
		out["id_token"] = s.idToken(requestBase(r), res.app, res.user, res.scopes, res.nonce)
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	writeJSONPlain(w, 200, out)
}

func scopeString(scopes []string, appOnly bool, resource string) string {
	if appOnly {
		return resource + ".default"
	}
	var out []string
	for _, sc := range scopes {
		switch sc {
		case "offline_access", "openid", "profile", "email":
			out = append(out, sc)
		default:
			out = append(out, resource+sc)
		}
	}
	return strings.Join(out, " ")
}

func (s *Server) grantCode(r *http.Request, app *App, tenant string) (*tokenResult, *aadError) {
	f := r.PostForm
	if e := s.authenticateClient(r, app, tenant, !app.public()); e != nil {
		return nil, e
	}
	code := f.Get("code")
	if code == "" {
		return nil, aerr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'code'.")
	}
	s.mu.Lock()
	c := s.codes[code]
	var redeemed bool
	if c != nil && c.clientID == app.ClientID {
		redeemed = c.redeemed
		c.redeemed = true
	}
	s.mu.Unlock()
	switch {
	case c == nil || c.clientID != app.ClientID:
		return nil, aerr(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid. (unknown authorization code)")
	case redeemed:
		return nil, aerr(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case s.now().After(c.expires):
		return nil, aerr(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case f.Get("redirect_uri") != c.redirectURI:
		return nil, aerr(400, "invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", f.Get("redirect_uri"), c.redirectURI)
	}
	if c.challenge != "" {
		v := f.Get("code_verifier")
		if v == "" {
			return nil, aerr(400, "invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE. (code_verifier missing)")
		}
		got := v
		if c.method == "S256" {
			sum := sha256.Sum256([]byte(v))
			got = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		if got != c.challenge {
			return nil, aerr(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		}
	}
	m := s.Mailbox(c.userID)
	if m == nil {
		return nil, aerr(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	if e := s.signInRefused(m, ""); e != nil {
		return nil, e
	}
	return &tokenResult{app: app, user: m, scopes: c.scopes, rt: slices.Contains(c.scopes, "offline_access"), nonce: c.nonce}, nil
}

func (s *Server) grantRefresh(r *http.Request, app *App, tenant string) (*tokenResult, *aadError) {
	f := r.PostForm
	if e := s.authenticateClient(r, app, tenant, !app.public()); e != nil {
		return nil, e
	}
	raw := f.Get("refresh_token")
	if raw == "" {
		return nil, aerr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
	}
	now := s.now()
	s.mu.Lock()
	rt := s.refresh[raw]
	var e *aadError
	switch {
	case rt == nil:
		e = aerr(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid. (refresh token not recognized)")
	case rt.clientID != app.ClientID:
		e = aerr(400, "invalid_grant", 700003, "The refresh token was issued to a different client id; it cannot be redeemed by '%s'.", app.ClientID)
	case rt.gen != s.userGen[rt.userID]:
		e = aerr(400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s'.", rt.expires.Add(-s.opts.RefreshTokenLifetime).UTC().Format(time.RFC3339))
	case now.After(rt.expires):
		issued := rt.expires.Add(-s.opts.RefreshTokenLifetime)
		e = aerr(400, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.", issued.UTC().Format("2006-01-02T15:04:05.0000000Z"), s.opts.RefreshTokenLifetime)
	case app.SignInFrequency > 0 && now.Sub(rt.authTime) > app.SignInFrequency:
		e = aerr(400, "invalid_grant", 70043, "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on %s and the maximum allowed lifetime for this request is %d.", rt.authTime.UTC().Format("2006-01-02T15:04:05.0000000Z"), int(app.SignInFrequency/time.Second))
	case rt.used && (!s.opts.RefreshReuse || (s.opts.RefreshReuseGrace > 0 && now.Sub(rt.usedAt) > s.opts.RefreshReuseGrace)):
		e = aerr(400, "invalid_grant", 70000, "Provided grant is invalid or malformed. The refresh token has already been redeemed (rotated).")
	}
	if e == nil && !rt.used {
		rt.used, rt.usedAt = true, now
	}
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	scopes := rt.scopes
	if sc := f.Get("scope"); sc != "" {
		req, e := checkDelegatedScopes(sc, s.graphResource())
		if e != nil {
			return nil, e
		}
		for _, x := range req {
			if !slices.Contains(rt.scopes, x) {
				return nil, aerr(400, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '%s'. Send an interactive authorization request for this user and resource. (scope %s not granted)", app.ClientID, x)
			}
		}
		scopes = req
	}
	m := s.Mailbox(rt.userID)
	if m == nil {
		return nil, aerr(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	if e := s.signInRefused(m, ""); e != nil {
		return nil, e
	}
	return &tokenResult{app: app, user: m, scopes: scopes, rt: true, authTime: rt.authTime}, nil
}

func (s *Server) grantDevice(r *http.Request, app *App, tenant string) (*tokenResult, *aadError) {
	f := r.PostForm
	if !app.public() {
		if e := s.authenticateClient(r, app, tenant, true); e != nil {
			return nil, e
		}
	}
	code := f.Get("device_code")
	if code == "" {
		return nil, aerr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'device_code'.")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[code]
	if d == nil || d.clientID != app.ClientID {
		return nil, aerr(400, "bad_verification_code", 70000, "The provided value for the input parameter 'device_code' is not valid.")
	}
	if now.After(d.expires) {
		return nil, aerr(400, "expired_token", 70019, "Verification code expired.")
	}
	switch d.state {
	case "declined":
		return nil, aerr(400, "authorization_declined", 70000, "The user has declined the sign-in request. (Error code: 7000218 declined).")
	case "redeemed":
		return nil, aerr(400, "invalid_grant", 54005, "The device code was already redeemed.")
	case "approved":
		d.state = "redeemed"
		m := s.users[strings.ToLower(d.userID)]
		return &tokenResult{app: app, user: m, scopes: d.scopes, rt: slices.Contains(d.scopes, "offline_access")}, nil
	}
	last := d.lastPoll
	d.lastPoll = now
	if !last.IsZero() && now.Sub(last) < d.interval {
		d.interval += 5 * time.Second
		return nil, aerr(400, "slow_down", 70016, "OAuth 2.0 device flow error. Polling too fast: slow down (interval is now %d seconds).", int(d.interval/time.Second))
	}
	return nil, aerr(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
}

func (s *Server) grantClient(r *http.Request, app *App, tenant string) (*tokenResult, *aadError) {
	switch strings.ToLower(tenant) {
	case "common", "organizations", "consumers":
		return nil, aerr(400, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials. Use a tenant id or domain with client_credentials.")
	}
	if e := s.authenticateClient(r, app, tenant, true); e != nil {
		return nil, e
	}
	sc := normScopes(r.PostForm.Get("scope"), s.graphResource())
	if len(sc) == 0 {
		return nil, aerr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	if len(sc) != 1 || sc[0] != ".default" {
		return nil, aerr(400, "invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", r.PostForm.Get("scope"))
	}
	return &tokenResult{app: app, scopes: appRoles(app)}, nil
}

func normUserCode(c string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(c), "-", ""))
}

const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ23456789"

// readTokenForm reads the form of a POST to a token or device code
// endpoint (at most 1 MiB), answering the identity platform's error for
// another method or a body that does not parse; false when it answered.
func (s *Server) readTokenForm(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		s.writeAADError(w, aerr(405, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a %s request.", r.Method))
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.writeAADError(w, aerr(400, "invalid_request", 900144, "The request body could not be parsed: %v", err))
		return false
	}
	return true
}

func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request, tenant string) {
	if !s.readTokenForm(w, r) {
		return
	}
	app, e := s.lookupApp(r.PostForm.Get("client_id"), tenant)
	if e != nil {
		s.writeAADError(w, e)
		return
	}
	if !app.public() {
		s.writeAADError(w, aerr(400, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. (The app is not configured to allow public client flows.)"))
		return
	}
	scopes, e := checkDelegatedScopes(r.PostForm.Get("scope"), s.graphResource())
	if e != nil {
		s.writeAADError(w, e)
		return
	}
	s.mu.Lock()
	var uc string
	for {
		b := make([]byte, 9)
		for i := range b {
			b[i] = userCodeAlphabet[s.rng.IntN(len(userCodeAlphabet))]
		}
		uc = string(b)
		if s.userCodes[uc] == nil {
			break
		}
	}
	d := &deviceCode{code: "DAQABAAEAAAD" + randToken(96), userCode: uc, clientID: app.ClientID, scopes: scopes,
		expires: s.now().Add(s.opts.DeviceCodeLifetime), interval: s.opts.DeviceCodeInterval, state: "pending"}
	s.devices[d.code] = d
	s.userCodes[uc] = d
	s.mu.Unlock()
	vuri := requestBase(r) + "/devicelogin"
	writeJSONPlain(w, 200, map[string]any{
		"user_code":        uc,
		"device_code":      d.code,
		"verification_uri": vuri,
		"expires_in":       int(s.opts.DeviceCodeLifetime / time.Second),
		"interval":         wholeSeconds(s.opts.DeviceCodeInterval),
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", vuri, uc),
	})
}

// ---- authorize endpoint and pages ----

func isLoopback(u *url.URL) bool {
	h := u.Hostname()
	return u.Scheme == "http" && (h == "localhost" || h == "127.0.0.1" || h == "::1")
}

func redirectAllowed(app *App, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return false
	}
	for _, reg := range app.RedirectURIs {
		if reg == raw {
			return true
		}
		ru, err := url.Parse(reg)
		if err != nil {
			continue
		}
		if isLoopback(u) && isLoopback(ru) && u.Hostname() == ru.Hostname() && strings.TrimSuffix(u.Path, "/") == strings.TrimSuffix(ru.Path, "/") {
			return true
		}
	}
	return false
}

func (s *Server) authorizeErrorPage(w http.ResponseWriter, e *aadError) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, "<!doctype html><html><head><title>Sign in to your account</title></head><body><h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">AADSTS%d: %s</p></body></html>", e.code, html.EscapeString(e.desc))
}

func redirectWith(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, _ := url.Parse(target)
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method == http.MethodPost {
		s.serveConsentPost(w, r)
		return
	}
	q := r.URL.Query()
	app, e := s.lookupApp(q.Get("client_id"), tenant)
	if e != nil {
		s.authorizeErrorPage(w, e)
		return
	}
	redirect := q.Get("redirect_uri")
	if !redirectAllowed(app, redirect) {
		s.authorizeErrorPage(w, aerr(400, "invalid_request", 50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", redirect, app.ClientID))
		return
	}
	fail := func(e *aadError) {
		redirectWith(w, r, redirect, url.Values{"error": {e.err}, "error_description": {fmt.Sprintf("AADSTS%d: %s", e.code, e.desc)}, "state": {q.Get("state")}})
	}
	if q.Get("response_type") != "code" {
		fail(aerr(400, "unsupported_response_type", 700054, "response_type '%s' is not enabled for the application (this simulator supports 'code').", q.Get("response_type")))
		return
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		fail(aerr(400, "invalid_request", 900144, "response_mode '%s' is not supported by the simulator (query only).", rm))
		return
	}
	scopes, e := checkDelegatedScopes(q.Get("scope"), s.graphResource())
	if e != nil {
		fail(e)
		return
	}
	method := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && method == "" {
		method = "plain"
	}
	if method != "" && method != "S256" && method != "plain" {
		fail(aerr(400, "invalid_request", 501491, "Invalid code_challenge_method '%s'.", method))
		return
	}
	sess := &authSession{app: app, redirectURI: redirect, state: q.Get("state"), challenge: q.Get("code_challenge"), method: method,
		loginHint: q.Get("login_hint"), scopes: scopes, tenant: tenant, nonce: q.Get("nonce")}
	if s.opts.AutoApprove && sess.loginHint != "" {
		if m := s.Mailbox(sess.loginHint); m != nil {
			s.finishAuthorize(w, r, sess, m)
			return
		}
	}
	if q.Get("prompt") == "none" {
		fail(aerr(400, "interaction_required", 50058, "A silent sign-in request was sent but no user is signed in."))
		return
	}
	id := randToken(24)
	s.mu.Lock()
	s.sessions[id] = sess
	s.mu.Unlock()
	s.consentPage(w, id, sess, "")
}

func (s *Server) consentPage(w http.ResponseWriter, id string, sess *authSession, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	esc := html.EscapeString
	errHTML := ""
	if msg != "" {
		errHTML = `<p id="error" style="color:#a00">` + esc(msg) + `</p>`
	}
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Sign in to your account</title></head><body>
<h1>graphsim sign-in</h1>
<p>The application <b>%s</b> asks for: %s</p>%s
<form method="post" action="authorize">
<input type="hidden" name="session" value="%s">
<label>Account <input name="login" value="%s" autocomplete="username"></label><br>
<label>Password <input name="passwd" type="password" autocomplete="current-password"></label><br>
<button name="consent" value="accept" type="submit">Accept</button>
<button name="consent" value="decline" type="submit">Cancel</button>
</form></body></html>`, esc(sess.app.ClientID), esc(strings.Join(sess.scopes, ", ")), errHTML, esc(id), esc(sess.loginHint))
}

func (s *Server) serveConsentPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.authorizeErrorPage(w, aerr(400, "invalid_request", 900144, "Malformed form."))
		return
	}
	id := r.PostForm.Get("session")
	s.mu.Lock()
	sess := s.sessions[id]
	s.mu.Unlock()
	if sess == nil {
		s.authorizeErrorPage(w, aerr(400, "invalid_request", 90015, "The sign-in session is unknown or has ended. Start again from the application."))
		return
	}
	if r.PostForm.Get("consent") != "accept" {
		s.mu.Lock()
		delete(s.sessions, id)
		s.mu.Unlock()
		redirectWith(w, r, sess.redirectURI, url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent to access the app."}, "state": {sess.state}})
		return
	}
	m := s.Mailbox(r.PostForm.Get("login"))
	if m == nil || (m.user.Password != "" && r.PostForm.Get("passwd") != m.user.Password) {
		s.consentPage(w, id, sess, "AADSTS50126: Error validating credentials due to invalid username or password.")
		return
	}
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
	s.finishAuthorize(w, r, sess, m)
}

// signInRefused is the error for a user who may not sign in: a disabled
// account (AADSTS50057), or a user of another tenant at a tenant's
// authority (AADSTS50020); nil when they may.
func (s *Server) signInRefused(m *Mailbox, authority string) *aadError {
	s.mu.Lock()
	_, du := s.dirUserLocked(m.user.ID)
	s.mu.Unlock()
	if du != nil && du.f.Disabled {
		return aerr(400, "invalid_grant", 50057, "The user account is disabled.")
	}
	switch strings.ToLower(authority) {
	case "", "common", "organizations", "consumers":
		return nil
	}
	if t := s.tenantOf(authority); t != nil && !strings.EqualFold(t.id, m.user.Tenant) {
		return aerr(400, "invalid_request", 50020, "User account '%s' from identity provider does not exist in tenant '%s' and cannot access the application in that tenant.", m.user.UPN, authority)
	}
	return nil
}

func (s *Server) finishAuthorize(w http.ResponseWriter, r *http.Request, sess *authSession, m *Mailbox) {
	if e := s.signInRefused(m, sess.tenant); e != nil {
		s.authorizeErrorPage(w, e)
		return
	}
	code := "1.AXsA" + randToken(96)
	s.mu.Lock()
	s.codes[code] = &authCode{clientID: sess.app.ClientID, redirectURI: sess.redirectURI, challenge: sess.challenge, method: sess.method,
		userID: m.user.ID, scopes: grantedScopes(sess.app, sess.scopes), expires: s.now().Add(s.opts.AuthCodeLifetime), nonce: sess.nonce}
	s.mu.Unlock()
	p := url.Values{"code": {code}, "session_state": {newGUID()}}
	if sess.state != "" {
		p.Set("state", sess.state)
	}
	redirectWith(w, r, sess.redirectURI, p)
}

// serveDeviceLogin is the page a user opens to enter a device user code.
func (s *Server) serveDeviceLogin(w http.ResponseWriter, r *http.Request) {
	esc := html.EscapeString
	page := func(status int, msg string, code string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		hint := ""
		s.mu.Lock()
		if s.opts.AutoApprove && len(s.userList) > 0 {
			hint = s.userList[0].user.UPN
		}
		s.mu.Unlock()
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Enter code</title></head><body>
<h1>graphsim device sign-in</h1><p id="msg">%s</p>
<form method="post" action="/devicelogin">
<label>Code <input name="otc" value="%s"></label><br>
<label>Account <input name="login" value="%s"></label><br>
<label>Password <input name="passwd" type="password"></label><br>
<button name="consent" value="accept" type="submit">Continue</button>
<button name="consent" value="decline" type="submit">Cancel</button>
</form></body></html>`, esc(msg), esc(code), esc(hint))
	}
	if r.Method != http.MethodPost {
		page(200, "Enter the code displayed on your app or device.", r.URL.Query().Get("otc"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		page(400, "Malformed form.", "")
		return
	}
	code := r.PostForm.Get("otc")
	if code == "" {
		code = r.PostForm.Get("user_code")
	}
	if r.PostForm.Get("consent") == "decline" {
		if err := s.DeclineDeviceCode(code); err != nil {
			page(400, err.Error(), code)
			return
		}
		page(200, "You have declined the sign-in. You can close this window.", "")
		return
	}
	login := r.PostForm.Get("login")
	m := s.Mailbox(login)
	if m == nil && s.opts.AutoApprove && login == "" {
		s.mu.Lock()
		if len(s.userList) > 0 {
			m = s.userList[0]
		}
		s.mu.Unlock()
	}
	if m == nil || (!s.opts.AutoApprove && m.user.Password != "" && r.PostForm.Get("passwd") != m.user.Password) {
		page(401, "AADSTS50126: Error validating credentials due to invalid username or password.", code)
		return
	}
	if err := s.ApproveDeviceCode(code, m.user.ID); err != nil {
		page(400, err.Error(), code)
		return
	}
	page(200, "You have signed in as "+m.user.UPN+". You can close this window.", "")
}

// wholeSeconds is d in the whole seconds the device authorization answer
// carries, rounded up: Microsoft never says 0 (a client reads 0 as "not
// given" and falls back to 5 s), so a sub-second test interval becomes 1.
func wholeSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
