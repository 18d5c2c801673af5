package auth

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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
		for _, want := range (Endpoints{}).DelegatedScopes() {
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
		f.mu.Lock()
		f.polls = append(f.polls, time.Now())
		f.mu.Unlock()
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

// polls returns the times (since start) of the device code polls f saw.
func (f *idp) pollTimes(start time.Time) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Duration, len(f.polls))
	for i, p := range f.polls {
		out[i] = p.Sub(start)
	}
	return out
}

// The device code tests run in a testing/synctest bubble: golang.org/x/oauth2
// waits on its own ticker, and the bubble's clock makes those waits instant
// and exact.

func TestDevicePendingThenSuccess(t *testing.T) {
	f := deviceIDP(t, 2, 900, "", "authorization_pending", "authorization_pending", "ok")
	synctest.Test(t, func(t *testing.T) {
		st := newStore()
		start := time.Now()
		var out bytes.Buffer
		id, err := LoginDevice(context.Background(), f.account(""), st, LoginOptions{Out: &out, HTTPClient: f.inproc()})
		if err != nil {
			t.Fatal(err)
		}
		if *id != (Identity{User: "alice@contoso.com", Tenant: "tid-guid"}) {
			t.Errorf("identity %+v", id)
		}
		if got := out.String(); !strings.Contains(got, "To sign in, open https://microsoft.com/devicelogin and enter the code ABCD-EFGH") {
			t.Errorf("output %q", got)
		}
		s := time.Second
		if got := f.pollTimes(start); !slices.Equal(got, []time.Duration{2 * s, 4 * s, 6 * s}) {
			t.Errorf("polls at %v", got)
		}
		tok := st.get("work")
		if tok.RefreshToken != "RT-device" || tok.AccessToken != "AT-device" || tok.User != "alice@contoso.com" || tok.Flow != "device" ||
			tok.ClientID != testClientID || tok.Tenant != testTenant || !tok.Expiry.Equal(time.Now().Add(time.Hour)) {
			t.Errorf("stored %+v", tok)
		}
	})
}

func TestDeviceSlowDown(t *testing.T) {
	f := deviceIDP(t, 0, 900, "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate.",
		"slow_down", "slow_down", "authorization_pending", "ok")
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var out bytes.Buffer
		if _, err := LoginDevice(context.Background(), f.account("device"), newStore(), LoginOptions{Out: &out, HTTPClient: f.inproc()}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "https://microsoft.com/devicelogin") || !strings.Contains(out.String(), "ABCD-EFGH") {
			t.Errorf("output %q", out.String())
		}
		s := time.Second
		// default 5 s, +5 s per slow_down
		if got := f.pollTimes(start); !slices.Equal(got, []time.Duration{5 * s, 15 * s, 30 * s, 45 * s}) {
			t.Errorf("polls at %v", got)
		}
	})
}

func TestDeviceFailures(t *testing.T) {
	for _, tc := range []struct {
		answer, want string
	}{
		{"authorization_declined", "declined"},
		{"access_denied", "declined"},
		{"expired_token", "expired"},
		{"bad_verification_code", "bad_verification_code"},
		{"invalid_client", "AADSTS70016"},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			f := deviceIDP(t, 1, 900, "", "authorization_pending", tc.answer)
			synctest.Test(t, func(t *testing.T) {
				st := newStore()
				_, err := LoginDevice(context.Background(), f.account(""), st, LoginOptions{HTTPClient: f.inproc()})
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "work") {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				if strings.Contains(err.Error(), "DEVCODE") {
					t.Errorf("error %v shows the device code", err)
				}
				if f.count("token") != 2 {
					t.Errorf("%d polls, want 2", f.count("token"))
				}
				if len(st.saves) != 0 {
					t.Error("something was stored")
				}
			})
		})
	}
}

// The code's lifetime bounds the polling even when the platform never says
// expired_token.
func TestDeviceExpiresIn(t *testing.T) {
	f := deviceIDP(t, 5, 12, "", "authorization_pending")
	synctest.Test(t, func(t *testing.T) {
		_, err := LoginDevice(context.Background(), f.account(""), newStore(), LoginOptions{HTTPClient: f.inproc()})
		if err == nil || !strings.Contains(err.Error(), "the code expired") {
			t.Fatalf("error %v", err)
		}
		if n := f.count("token"); n != 2 { // at 5 s and 10 s; at 12 s the code is gone
			t.Errorf("%d polls, want 2", n)
		}
	})
}

func TestDeviceContextCancelled(t *testing.T) {
	f := deviceIDP(t, 1, 900, "", "authorization_pending")
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		_, err := LoginDevice(ctx, f.account(""), newStore(), LoginOptions{HTTPClient: f.inproc()})
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "the code expired") {
			t.Fatalf("error %v, want the context's deadline", err)
		}
		if n := f.count("token"); n != 2 {
			t.Errorf("%d polls, want 2", n)
		}
	})
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
