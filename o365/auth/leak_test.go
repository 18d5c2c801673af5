package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// The secrets the client sends are short here (they are removed because they
// are known); the tokens the server invents are realistic (they are removed
// because they look like tokens).
const (
	leakRT     = "RT-SECRET-refresh-0123456789"
	leakSecret = "CS-SECRET-client-0123456789"
	leakDevice = "DC-SECRET-device-0123456789"
	leakAT     = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.b2xkLWFjY2Vzcy10b2tlbi1zaWduYXR1cmU"
	leakNewAT  = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJuIjoxfQ.bmV3LWFjY2Vzcy10b2tlbi1zaWduYXR1cmU"
	leakNewRT  = "0.AXEAu8kT5Yx3UkOq3Kx0n5o7Lw1LlrBpGzlKs9wTaRdF8J2fAAA.AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wUA9P-newRefreshTokenTail"
)

var leakSecrets = []string{leakAT, leakRT, leakNewAT, leakNewRT, leakSecret, leakDevice}

// leakAnswers are token endpoint misbehaviours, each echoing every secret of
// the request (and the tokens) somewhere in its answer.
var leakAnswers = map[string]func(w http.ResponseWriter, r *http.Request){
	"invalid_grant echoing": func(w http.ResponseWriter, r *http.Request) {
		oauthErr(w, 400, "invalid_grant", "AADSTS70008: Refresh token "+r.Form.Get("refresh_token")+" secret "+r.Form.Get("client_secret")+" device "+r.Form.Get("device_code")+" has expired. More: "+leakAT)
	},
	"invalid_client echoing": func(w http.ResponseWriter, r *http.Request) {
		oauthErr(w, 401, "invalid_client", "AADSTS7000215: Invalid client secret "+r.Form.Get("client_secret")+r.Form.Get("refresh_token")+r.Form.Get("device_code")+" provided.")
	},
	"error code is a secret": func(w http.ResponseWriter, r *http.Request) {
		oauthErr(w, 400, r.Form.Get("refresh_token")+r.Form.Get("client_secret")+r.Form.Get("device_code"), "")
	},
	"temporarily_unavailable": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 503, map[string]any{"error": "temporarily_unavailable", "error_description": leakNewAT + " " + leakNewRT,
			"trace_id": r.Form.Get("refresh_token"), "correlation_id": leakAT})
	},
	"html 500": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		fmt.Fprintf(w, "<html>%s %s %s %s</html>", r.Form.Encode(), leakAT, leakNewAT, leakNewRT)
	},
	"malformed 200": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token": %s, "refresh_token": "%s"`, leakNewAT, leakNewRT)
	},
	"200 without access token": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"refresh_token": leakNewRT, "token_type": leakNewAT})
	},
	"200 bad token type": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"access_token": leakNewAT, "refresh_token": leakNewRT, "token_type": leakNewRT})
	},
	"ok": func(w http.ResponseWriter, r *http.Request) {
		tokenOK(w, leakNewAT, leakNewRT, fakeJWT(map[string]any{"preferred_username": "alice@contoso.com"}))
	},
}

func checkNoLeak(t *testing.T, what string, err error, logs *testutil.LockedBuffer) {
	t.Helper()
	var texts []string
	if err != nil {
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}
	texts = append(texts, logs.String())
	for _, s := range texts {
		for _, sec := range leakSecrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s: %q leaks %s", what, s, sec)
			}
		}
	}
}

func TestNoSecretInErrorsOrLogs(t *testing.T) {
	ctx := context.Background()
	for name, answer := range leakAnswers {
		// Delegated refresh.
		f := newIDP(t)
		f.token = answer
		f.devicecode = func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"device_code": leakDevice, "user_code": "U", "verification_uri": "https://x", "expires_in": 60, "interval": 1})
		}
		st, c := newStore(), newClock()
		st.toks["work"] = Token{AccessToken: leakAT, RefreshToken: leakRT, Expiry: c.Now().Add(-time.Hour),
			Tenant: testTenant, Flow: "device", ClientID: testClientID, Scopes: Endpoints{}.DelegatedScopes()}
		var logs testutil.LockedBuffer
		s, _ := NewSourceWith(f.account(""), st, SourceOptions{Now: c.Now, Logger: debugLogger(&logs)})
		for range 2 {
			_, err := s.Token(ctx)
			checkNoLeak(t, name+" (refresh)", err, &logs)
			s.Invalidate()
		}
		// A store that fails after a successful refresh.
		st.setFail(fmt.Errorf("disk I/O error"))
		st.toks["work"] = Token{AccessToken: leakAT, RefreshToken: leakRT, Expiry: c.Now().Add(-time.Hour),
			Tenant: testTenant, Flow: "device", ClientID: testClientID, Scopes: Endpoints{}.DelegatedScopes()}
		s, _ = NewSourceWith(f.account(""), st, SourceOptions{Now: c.Now, Logger: debugLogger(&logs)})
		_, err := s.Token(ctx)
		checkNoLeak(t, name+" (refresh, store failing)", err, &logs)
		st.setFail(nil)

		// App-only with a secret.
		acc := f.account(FlowClientSecret)
		acc.ClientSecretEnv = "S"
		s, _ = NewSourceWith(acc, newStore(), SourceOptions{LookupEnv: env(map[string]string{"S": leakSecret}), Logger: debugLogger(&logs)})
		_, err = s.Token(ctx)
		checkNoLeak(t, name+" (client secret)", err, &logs)

		// Device code login (polls until the answer is not pending; the
		// bubble's clock makes the poll's wait instant).
		synctest.Test(t, func(t *testing.T) {
			_, err := LoginDevice(ctx, f.account(""), newStore(), LoginOptions{Logger: debugLogger(&logs), HTTPClient: f.inproc()})
			checkNoLeak(t, name+" (device login)", err, &logs)
		})
	}

	// The network failing.
	f := newIDP(t)
	f.srv.Close()
	var logs testutil.LockedBuffer
	st, c := newStore(), newClock()
	st.toks["work"] = Token{AccessToken: leakAT, RefreshToken: leakRT, Expiry: c.Now().Add(-time.Hour),
		Tenant: testTenant, Flow: "device", ClientID: testClientID, Scopes: Endpoints{}.DelegatedScopes()}
	s, _ := NewSourceWith(f.account(""), st, SourceOptions{Now: c.Now, Logger: debugLogger(&logs)})
	_, err := s.Token(ctx)
	if err == nil {
		t.Error("Token with the network down succeeded")
	}
	checkNoLeak(t, "network down (refresh)", err, &logs)
	acc := f.account(FlowClientSecret)
	acc.ClientSecretEnv = "S"
	s, _ = NewSourceWith(acc, newStore(), SourceOptions{LookupEnv: env(map[string]string{"S": leakSecret}), Logger: debugLogger(&logs)})
	_, err = s.Token(ctx)
	checkNoLeak(t, "network down (client secret)", err, &logs)

	// A secret file that cannot be read, a missing variable.
	acc.ClientSecretEnv = "EMPTY"
	_, err = NewSourceWith(acc, newStore(), SourceOptions{LookupEnv: env(map[string]string{"EMPTY": " "})})
	checkNoLeak(t, "empty secret", err, &logs)
}
