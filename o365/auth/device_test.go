package auth

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// deviceIDP is a fake whose token endpoint answers the device code polls
// with answers in turn (the last one repeats); "ok" is a success.
func deviceIDP(t *testing.T, interval, expiresIn int, message string, answers ...string) *idp {
	f := newIDP(t)
	f.devicecode = func(w http.ResponseWriter, r *http.Request) {
		if r.Form.Get("client_id") != testClientID {
			t.Errorf("devicecode client_id %q", r.Form.Get("client_id"))
		}
		sc := strings.Fields(r.Form.Get("scope"))
		for _, want := range DelegatedScopes {
			if !slices.Contains(sc, want) {
				t.Errorf("devicecode scope %v lacks %s", sc, want)
			}
		}
		writeJSON(w, 200, map[string]any{"device_code": "DEVCODE-secret-1234", "user_code": "ABCD-EFGH",
			"verification_url": "https://microsoft.com/devicelogin", "expires_in": expiresIn, "interval": interval, "message": message})
	}
	var mu sync.Mutex
	n := 0
	f.token = func(w http.ResponseWriter, r *http.Request) {
		if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || r.Form.Get("device_code") != "DEVCODE-secret-1234" || r.Form.Get("client_id") != testClientID {
			t.Errorf("device poll form %v", r.Form)
		}
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		if a == "ok" {
			tokenOK(w, "AT-device", "RT-device", fakeJWT(map[string]any{"preferred_username": "alice@contoso.com", "tid": "tid-guid"}))
			return
		}
		oauthErr(w, 400, a, "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling. Trace ID: x")
	}
	return f
}

// sleeper records the waits and advances the clock.
type sleeper struct {
	c     *clock
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	s.c.Add(d)
	return ctx.Err()
}

func TestDevicePendingThenSuccess(t *testing.T) {
	f := deviceIDP(t, 2, 900, "", "authorization_pending", "authorization_pending", "ok")
	st, c := newStore(), newClock()
	sl := &sleeper{c: c}
	var out bytes.Buffer
	id, err := LoginDevice(context.Background(), f.account(""), st, LoginOptions{Out: &out, Now: c.Now, Sleep: sl.Sleep, HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if *id != (Identity{User: "alice@contoso.com", Tenant: "tid-guid"}) {
		t.Errorf("identity %+v", id)
	}
	if got := out.String(); !strings.Contains(got, "To sign in, open https://microsoft.com/devicelogin and enter the code ABCD-EFGH") {
		t.Errorf("output %q", got)
	}
	if !slices.Equal(sl.waits, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}) {
		t.Errorf("waits %v", sl.waits)
	}
	tok := st.get("work")
	if tok.RefreshToken != "RT-device" || tok.AccessToken != "AT-device" || tok.User != "alice@contoso.com" || tok.Flow != "device" ||
		tok.ClientID != testClientID || tok.Tenant != testTenant || !tok.Expiry.Equal(c.Now().Add(time.Hour)) {
		t.Errorf("stored %+v", tok)
	}
}

func TestDeviceMessageShownAndSlowDown(t *testing.T) {
	f := deviceIDP(t, 0, 900, "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate.",
		"slow_down", "slow_down", "authorization_pending", "ok")
	c := newClock()
	sl := &sleeper{c: c}
	var out bytes.Buffer
	if _, err := LoginDevice(context.Background(), f.account("device"), newStore(), LoginOptions{Out: &out, Now: c.Now, Sleep: sl.Sleep}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "To sign in, use a web browser") {
		t.Errorf("output %q", out.String())
	}
	s := time.Second
	if !slices.Equal(sl.waits, []time.Duration{5 * s, 10 * s, 15 * s, 15 * s}) { // default 5 s, +5 s per slow_down
		t.Errorf("waits %v", sl.waits)
	}
}

func TestDeviceFailures(t *testing.T) {
	for _, tc := range []struct {
		answer, want string
	}{
		{"authorization_declined", "declined"},
		{"expired_token", "expired"},
		{"bad_verification_code", "bad_verification_code"},
		{"invalid_client", "AADSTS70016"},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			f := deviceIDP(t, 1, 900, "", "authorization_pending", tc.answer)
			c := newClock()
			st := newStore()
			_, err := LoginDevice(context.Background(), f.account(""), st, LoginOptions{Now: c.Now, Sleep: (&sleeper{c: c}).Sleep})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "work") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if f.count("token") != 2 {
				t.Errorf("%d polls, want 2", f.count("token"))
			}
			if len(st.saves) != 0 {
				t.Error("something was stored")
			}
		})
	}
}

// The code's lifetime bounds the polling even when the platform never says
// expired_token.
func TestDeviceExpiresIn(t *testing.T) {
	f := deviceIDP(t, 5, 12, "", "authorization_pending")
	c := newClock()
	_, err := LoginDevice(context.Background(), f.account(""), newStore(), LoginOptions{Now: c.Now, Sleep: (&sleeper{c: c}).Sleep})
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("error %v", err)
	}
	if n := f.count("token"); n != 2 { // at 5 s and 10 s; at 15 s the code is gone
		t.Errorf("%d polls, want 2", n)
	}
}

func TestDeviceContextCancelled(t *testing.T) {
	f := deviceIDP(t, 1, 900, "", "authorization_pending")
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	sleep := func(ctx context.Context, d time.Duration) error {
		if n++; n == 3 {
			cancel()
		}
		return ctx.Err()
	}
	_, err := LoginDevice(ctx, f.account(""), newStore(), LoginOptions{Sleep: sleep})
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("error %v", err)
	}
}

func TestLoginRefusedForAppOnly(t *testing.T) {
	f := newIDP(t)
	for _, flow := range []string{FlowClientSecret, FlowClientCertificate} {
		if _, err := LoginDevice(context.Background(), f.account(flow), newStore(), LoginOptions{}); err == nil || !strings.Contains(err.Error(), "no login") {
			t.Errorf("%s: LoginDevice: %v", flow, err)
		}
		if _, err := LoginBrowser(context.Background(), f.account(flow), newStore(), LoginOptions{}); err == nil {
			t.Errorf("%s: LoginBrowser succeeded", flow)
		}
	}
}
