// Package auth signs cardbridge in to Office 365 (the Microsoft identity
// platform, OAuth2 v2.0) and hands access tokens to the Graph client.
//
// Four flows are supported, chosen by an account's flow key:
//
//   - device (default) and browser are delegated: `cardbridge login ACCOUNT`
//     runs LoginDevice (device code) or LoginBrowser (authorization code with
//     PKCE and a loopback redirect) once; the refresh token is stored and
//     every later run refreshes from it, storing each rotated refresh token;
//   - client-secret and client-certificate are app-only (client
//     credentials) for unattended runs against a configured mailbox: there is
//     no login step, a Source requests a token whenever the cached one expires.
//
// A Source is what the Graph client uses: it caches the access token until
// shortly before it expires and refreshes at most once at a time. When a
// refresh token is revoked or expired, Token returns a *NeedLoginError,
// once, without retrying.
//
// The standard OAuth2 mechanics are golang.org/x/oauth2's: the
// authorization code flow with PKCE S256, device authorization and its
// polling (slow_down, expiry), the refresh through a token source (with
// scope added by a RoundTripper: Microsoft's v2.0 endpoint wants it and
// x/oauth2 sends none), and client credentials (clientcredentials.Config,
// with the secret or a freshly signed certificate assertion per request as
// endpoint parameters). All of them use the caller's *http.Client, handed to
// x/oauth2 through the context (oauth2.HTTPClient). This package keeps what
// is Microsoft's: clouds and authorities, AADSTS errors and their hints (an
// *oauth2.RetrieveError becomes an *OAuthError), the certificate assertion,
// and rotated refresh tokens stored before the access token is used.
//
// Tokens live in a Store (the state database, through StateStore). No
// token, code, verifier, assertion or secret is ever written to a log line or
// put into an error message: answers of the identity platform are reduced to
// their error code, AADSTS code and first sentence, and scrubbed of the
// secrets of the request.
package auth

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/cardbridge/cardbridge/config"
)

// Endpoints are the service URLs of an account's cloud (or its overrides).
type Endpoints struct {
	// Login is the authority host, e.g. https://login.microsoftonline.com;
	// the tenant and /oauth2/v2.0/... are appended.
	Login string
	// Graph is the Graph base URL with its version, e.g.
	// https://graph.microsoft.com/v1.0.
	Graph string
	// Resource is the Graph resource the scopes name, e.g.
	// https://graph.microsoft.com: the cloud's, or graph_url's origin when
	// that is a known Graph host (a proxy or simulator in graph_url keeps the
	// cloud's resource, since the token is still for Microsoft Graph).
	Resource string
}

// cloud is the endpoints of a national cloud.
type cloud struct{ login, graph string }

// clouds are the known clouds by their configuration name.
var clouds = map[string]cloud{
	"global":    {"https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0"},
	"usgov":     {"https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0"},
	"usgov-dod": {"https://login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0"},
	"china":     {"https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0"},
}

// graphHosts are the hosts of Microsoft Graph in the known clouds.
var graphHosts = map[string]bool{
	"graph.microsoft.com": true, "graph.microsoft.us": true,
	"dod-graph.microsoft.us": true, "microsoftgraph.chinacloudapi.cn": true,
}

// EndpointsFor returns the endpoints of acc: those of its cloud (global when
// unset), with login_url and graph_url overriding. An override must be an
// absolute https URL (http only for a loopback host) with no query or
// fragment; a trailing slash is dropped.
func EndpointsFor(acc config.Account) (Endpoints, error) {
	name := acc.Cloud
	if name == "" {
		name = "global"
	}
	c, ok := clouds[name]
	if !ok {
		return Endpoints{}, fmt.Errorf("account %s: unknown cloud %q (expected global, usgov, usgov-dod or china)", acc.Name, acc.Cloud)
	}
	e := Endpoints{Login: c.login, Graph: c.graph, Resource: origin(c.graph)}
	if acc.LoginURL != "" {
		u, err := checkServiceURL(acc.LoginURL)
		if err != nil {
			return Endpoints{}, fmt.Errorf("account %s: login_url: %w", acc.Name, err)
		}
		e.Login = u
	}
	if acc.GraphURL != "" {
		u, err := checkServiceURL(acc.GraphURL)
		if err != nil {
			return Endpoints{}, fmt.Errorf("account %s: graph_url: %w", acc.Name, err)
		}
		e.Graph = u
		if pu, _ := url.Parse(u); pu != nil && pu.Scheme == "https" && graphHosts[strings.ToLower(pu.Hostname())] {
			e.Resource = origin(u)
		}
	}
	return e, nil
}

// checkServiceURL validates an override and returns it without a trailing slash.
func checkServiceURL(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return "", fmt.Errorf("%q is not an absolute https URL", s)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("%q must use https (http only for 127.0.0.1, localhost or [::1])", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("%q must have no query, fragment or user info", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// isLoopback reports whether host names the local machine.
func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// origin is scheme://host of an absolute URL.
func origin(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Scheme + "://" + u.Host
}

// legacyTenant is the tenant of a stored token that names none: the
// default of the versions before tenant was required.
func legacyTenant(tenant string) string {
	if tenant == "" {
		return "organizations"
	}
	return tenant
}

// requireTenant refuses an account without a tenant (config requires one;
// an Account built in code may lack it), saying what to put there.
func requireTenant(acc config.Account) error {
	if strings.TrimSpace(acc.Tenant) == "" {
		return fmt.Errorf("account %s: no tenant: set tenant to %s", acc.Name, config.TenantHelp)
	}
	return nil
}

// endpoint is Login/{tenant}/oauth2/v2.0/{what}.
func (e Endpoints) endpoint(tenant, what string) string {
	return e.Login + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/" + what
}

// TokenURL is the token endpoint of tenant.
func (e Endpoints) TokenURL(tenant string) string { return e.endpoint(tenant, "token") }

// DeviceCodeURL is the device authorization endpoint of tenant.
func (e Endpoints) DeviceCodeURL(tenant string) string { return e.endpoint(tenant, "devicecode") }

// AuthorizeURL is the authorization endpoint of tenant.
func (e Endpoints) AuthorizeURL(tenant string) string { return e.endpoint(tenant, "authorize") }

// DelegatedScopes are the delegated scopes on e's Graph resource:
// Contacts.ReadWrite, offline_access, User.Read and MailboxSettings.Read
// (the mailbox's time zone, to read the birthdays Outlook stores as a local
// midnight).
func (e Endpoints) DelegatedScopes() []string {
	return append(e.contactScopes(), e.resource()+"/MailboxSettings.Read")
}

// contactScopes are the delegated scopes before MailboxSettings.Read was
// asked for. A token stored with them still refreshes, with them: the
// account keeps syncing without a new login, and reads birthdays without
// the mailbox's time zone (the side says so) until it signs in again.
func (e Endpoints) contactScopes() []string {
	r := e.resource()
	return []string{r + "/Contacts.ReadWrite", "offline_access", r + "/User.Read"}
}

// AppScopes are the scopes of the app-only flows: <resource>/.default.
func (e Endpoints) AppScopes() []string { return []string{e.resource() + "/.default"} }

// resource is e.Resource, or the global Graph resource when unset.
func (e Endpoints) resource() string {
	if e.Resource == "" {
		return "https://graph.microsoft.com"
	}
	return e.Resource
}

// loginScopes are the scopes an interactive login asks for: the delegated
// ones plus openid and profile, so that an id_token names the user.
func (e Endpoints) loginScopes() []string {
	return append(e.DelegatedScopes(), "openid", "profile")
}

// The flows of an account (its flow key).
const (
	// FlowDevice is the delegated device code flow (the default).
	FlowDevice = "device"
	// FlowBrowser is the delegated authorization code flow with PKCE.
	FlowBrowser = "browser"
	// FlowClientSecret is the app-only flow with a client secret.
	FlowClientSecret = "client-secret"
	// FlowClientCertificate is the app-only flow with a certificate.
	FlowClientCertificate = "client-certificate"
)

// flowOf is acc's flow (device when unset).
func flowOf(acc config.Account) string {
	if acc.Flow == "" {
		return FlowDevice
	}
	return acc.Flow
}

// IsAppOnly reports whether flow is an app-only (client credentials) flow.
func IsAppOnly(flow string) bool { return flow == FlowClientSecret || flow == FlowClientCertificate }
