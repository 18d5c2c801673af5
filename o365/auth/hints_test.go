package auth

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
)

// hintCases are the AADSTS codes a user can meet, each with the config key
// or portal setting its hint must name.
var hintCases = []struct {
	code, oauth string // AADSTS code and the OAuth error Microsoft sends with it
	names       []string
}{
	{"AADSTS50059", "invalid_request", []string{"tenant", "Directory (tenant) ID", "Overview"}},
	{"AADSTS50194", "invalid_request", []string{"tenant", "Supported account types"}},
	{"AADSTS700016", "unauthorized_client", []string{"client_id", "Application (client) ID", "tenant"}},
	{"AADSTS7000218", "invalid_client", []string{"Allow public client flows", "flow"}},
	{"AADSTS50020", "invalid_grant", []string{"tenant", "consumers", "multitenant"}},
	{"AADSTS65001", "invalid_grant", []string{"Grant admin consent", "Contacts.ReadWrite"}},
	{"AADSTS50076", "invalid_grant", []string{"multi-factor", "client-certificate"}},
	{"AADSTS53003", "invalid_grant", []string{"Conditional Access"}},
	{"AADSTS700082", "invalid_grant", []string{"90 days", "sign in again"}},
	{"AADSTS70043", "invalid_grant", []string{"sign-in frequency", "client-secret"}},
	{"AADSTS50126", "invalid_grant", []string{"password"}},
	{"AADSTS90002", "invalid_request", []string{"tenant", "cloud"}},
	{"AADSTS9002331", "invalid_request", []string{"consumers"}},
	{"AADSTS50011", "invalid_request", []string{"redirect URI", "/ui/connect/callback"}},
	{"AADSTS7000215", "invalid_client", []string{"client_secret_env", "Value"}},
	{"AADSTS700027", "invalid_client", []string{"certificate_file", "Certificates & secrets"}},
}

// TestHints: every code has a one-line hint naming what to change, found
// with or without the AADSTS prefix.
func TestHints(t *testing.T) {
	for _, c := range hintCases {
		h := Hint(c.code)
		if h == "" || strings.ContainsAny(h, "\n\r") {
			t.Errorf("%s: hint %q", c.code, h)
			continue
		}
		for _, n := range c.names {
			if !strings.Contains(h, n) {
				t.Errorf("%s: hint %q does not name %q", c.code, h, n)
			}
		}
		if Hint(strings.TrimPrefix(c.code, "AADSTS")) != h {
			t.Errorf("%s: not found by its number", c.code)
		}
	}
	if Hint("AADSTS1") != "" || Hint("") != "" {
		t.Error("a hint for an unknown code")
	}
}

// TestHintsInEveryFlow: whatever flow meets the code (client credentials,
// refresh, device login, the authorize redirect of the browser flows and
// of the web page), its error carries the hint.
func TestHintsInEveryFlow(t *testing.T) {
	for _, c := range hintCases {
		desc := c.code + ": Something went wrong. Trace ID: 1 Correlation ID: 2"
		f := newIDP(t)
		f.token = func(w http.ResponseWriter, r *http.Request) { oauthErr(w, 400, c.oauth, desc) }
		f.devicecode = f.token
		hint := Hint(c.code)
		check := func(flow string, err error) {
			t.Helper()
			if err == nil || !strings.Contains(err.Error(), c.code) || !strings.HasSuffix(err.Error(), "; hint: "+hint) {
				t.Errorf("%s via %s: %v, want the code and the hint %q", c.code, flow, err, hint)
			}
		}
		ctx := context.Background()

		acc := f.account(FlowClientSecret)
		acc.User, acc.ClientSecretEnv = "bob@contoso.com", "SECRET"
		s, err := NewSourceWith(acc, newStore(), SourceOptions{LookupEnv: env(map[string]string{"SECRET": testSecret})})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Token(ctx)
		check("client-secret", err)

		st, cl := newStore(), newClock()
		loggedIn(st, cl)
		s, _ = NewSourceWith(f.account(""), st, SourceOptions{Now: cl.Now})
		_, err = s.Token(ctx)
		check("refresh", err)

		_, err = LoginDevice(ctx, f.account(FlowDevice), newStore(), LoginOptions{})
		check("device", err)

		check("authorize", AuthorizeError(c.oauth, desc, ""))
	}
}

// TestHintsDocumented: docs/office365.md's troubleshooting table has a row
// for every code of the table.
func TestHintsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/office365.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range HintCodes() {
		if !strings.Contains(string(b), "\n| "+c+" |") {
			t.Errorf("docs/office365.md has no troubleshooting row for %s", c)
		}
	}
}
