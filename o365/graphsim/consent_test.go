package graphsim

import (
	"net/url"
	"strings"
	"testing"
)

// TestWithheldPermission: an app whose Contacts.ReadWrite nobody consents
// to still signs people in (ID token, refresh token), its token answer's
// scope leaves the permission out, and its access token is refused on the
// contacts (403), as at Microsoft.
func TestWithheldPermission(t *testing.T) {
	e := newEnv(t, Options{AutoApprove: true})
	e.s.AddApp(App{ClientID: "held", Audience: AudienceMultipleOrgs, PublicClient: true, RedirectURIs: []string{"http://localhost"},
		Withheld: []string{"contacts.readwrite"}})
	for _, c := range []struct {
		client  string
		granted bool
	}{{"pub", true}, {"held", false}} {
		verifier, challenge := pkce()
		redirect := "http://localhost:53682/"
		q := url.Values{"client_id": {c.client}, "response_type": {"code"}, "redirect_uri": {redirect}, "state": {"xyz"},
			"scope":          {"openid profile email offline_access https://graph.microsoft.com/Contacts.ReadWrite https://graph.microsoft.com/User.Read"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "login_hint": {"alice@contoso.example"}, "nonce": {"n-1"}}
		code := codeFrom(t, e.do("GET", "/organizations/oauth2/v2.0/authorize?"+q.Encode(), "", nil))
		r := e.form("/organizations/oauth2/v2.0/token", url.Values{"client_id": {c.client}, "grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirect}, "code_verifier": {verifier}})
		if r.status != 200 {
			t.Fatalf("%s: token: %d %s", c.client, r.status, r.body)
		}
		tok := r.json(t)
		scope, _ := tok["scope"].(string)
		if strings.Contains(scope, "Contacts.ReadWrite") != c.granted || !strings.Contains(scope, "User.Read") || !strings.Contains(scope, "openid") {
			t.Errorf("%s: scope %q (Contacts.ReadWrite granted: want %v)", c.client, scope, c.granted)
		}
		if tok["id_token"] == nil || tok["refresh_token"] == nil {
			t.Errorf("%s: no ID or refresh token: %v", c.client, tok)
		}
		at, _ := tok["access_token"].(string)
		want := 200
		if !c.granted {
			want = 403
		}
		if got := e.do("GET", "/v1.0/me/contacts", at, nil); got.status != want {
			t.Errorf("%s: contacts with the token: %d, want %d: %s", c.client, got.status, want, got.body)
		}
	}
}
