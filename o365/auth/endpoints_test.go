package auth

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/config"
)

func TestEndpointsPerCloud(t *testing.T) {
	for _, tc := range []struct {
		cloud, login, graph, resource string
	}{
		{"", "https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com"},
		{"global", "https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com"},
		{"usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0", "https://graph.microsoft.us"},
		{"usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0", "https://dod-graph.microsoft.us"},
		{"china", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0", "https://microsoftgraph.chinacloudapi.cn"},
	} {
		e, err := EndpointsFor(config.Account{Name: "a", Cloud: tc.cloud})
		if err != nil {
			t.Fatalf("%s: %v", tc.cloud, err)
		}
		if e.Login != tc.login || e.Graph != tc.graph || e.Resource != tc.resource {
			t.Errorf("%s: %+v", tc.cloud, e)
		}
		if got := e.DelegatedScopes(); !slices.Equal(got, []string{tc.resource + "/Contacts.ReadWrite", "offline_access", tc.resource + "/User.Read", tc.resource + "/MailboxSettings.Read"}) {
			t.Errorf("%s: DelegatedScopes %v", tc.cloud, got)
		}
		if got := e.AppScopes(); !slices.Equal(got, []string{tc.resource + "/.default"}) {
			t.Errorf("%s: AppScopes %v", tc.cloud, got)
		}
	}
	g, _ := EndpointsFor(config.Account{})
	if !slices.Equal(g.DelegatedScopes(), (Endpoints{}).DelegatedScopes()) {
		t.Errorf("global scopes %v differ from those of the zero Endpoints %v", g.DelegatedScopes(), Endpoints{}.DelegatedScopes())
	}
	if _, err := EndpointsFor(config.Account{Name: "a", Cloud: "mars"}); err == nil {
		t.Error("unknown cloud accepted")
	}
}

func TestEndpointsURLs(t *testing.T) {
	e, _ := EndpointsFor(config.Account{})
	for got, want := range map[string]string{
		e.TokenURL("contoso.onmicrosoft.com"): "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
		e.DeviceCodeURL("common"):             "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
		e.AuthorizeURL("organizations"):       "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestEndpointsOverrides(t *testing.T) {
	e, err := EndpointsFor(config.Account{Name: "a", Cloud: "usgov", LoginURL: "http://127.0.0.1:8080/", GraphURL: "http://localhost:9/v1.0/"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Login != "http://127.0.0.1:8080" || e.Graph != "http://localhost:9/v1.0" {
		t.Errorf("overrides: %+v", e)
	}
	if e.Resource != "https://graph.microsoft.us" { // a simulator or proxy: still a token for the cloud's Graph
		t.Errorf("resource with a loopback graph_url: %s", e.Resource)
	}
	if got := e.TokenURL("t"); got != "http://127.0.0.1:8080/t/oauth2/v2.0/token" {
		t.Errorf("TokenURL with override: %s", got)
	}
	e, _ = EndpointsFor(config.Account{Name: "a", GraphURL: "https://graph.microsoft.us/beta", LoginURL: "https://[::1]:8443"})
	if e.Resource != "https://graph.microsoft.us" || e.Graph != "https://graph.microsoft.us/beta" || e.Login != "https://[::1]:8443" {
		t.Errorf("graph_url on a known Graph host: %+v", e)
	}
	for _, bad := range []string{"http://login.example.com", "login.microsoftonline.com", "ftp://x", "https://h/?q=1", "https://h/#f", "https://u:p@h"} {
		_, err := EndpointsFor(config.Account{Name: "a", LoginURL: bad})
		if err == nil || !strings.Contains(err.Error(), "login_url") {
			t.Errorf("login_url %q: %v", bad, err)
		}
		if _, err := EndpointsFor(config.Account{Name: "a", GraphURL: bad}); err == nil {
			t.Errorf("graph_url %q accepted", bad)
		}
	}
}

// TestNoTenant: an account without a tenant (built in code; config refuses
// it) is refused by every flow with what to put there, before any request.
func TestNoTenant(t *testing.T) {
	acc := config.Account{Name: "work", ClientID: testClientID, Flow: FlowDevice, LoginURL: "http://127.0.0.1:1"}
	want := "account work: no tenant: set tenant to " + config.TenantHelp
	if _, err := LoginDevice(context.Background(), acc, newStore(), LoginOptions{}); err == nil || err.Error() != want {
		t.Errorf("LoginDevice: %v", err)
	}
	if _, err := NewAuthCodeRequest(acc, "http://localhost/cb"); err == nil || err.Error() != want {
		t.Errorf("NewAuthCodeRequest: %v", err)
	}
	acc.Flow, acc.User, acc.ClientSecretEnv = FlowClientSecret, "a@contoso.com", "S"
	if _, err := NewSourceWith(acc, newStore(), SourceOptions{LookupEnv: env(map[string]string{"S": "x"})}); err == nil || err.Error() != want {
		t.Errorf("NewSourceWith: %v", err)
	}
}
