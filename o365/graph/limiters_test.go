package graph

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimitersSharePerMailbox: Clients made from one registry for the same
// (host, app, mailbox) keep 4 requests in flight together; another
// mailbox or another app has 4 of its own. The server holds every request
// until the test has seen all the others wait in line, so the figures do
// not depend on timing.
func TestLimitersSharePerMailbox(t *testing.T) {
	cases := []struct {
		name             string
		a, b             Options // AppID, Mailbox, MailboxKey
		wantPeak, queued int
	}{
		{"same app and mailbox (app-only, UPN in any case)",
			Options{AppID: "app-1", Mailbox: "alice@contoso.com"}, Options{AppID: "APP-1", Mailbox: "Alice@Contoso.com"}, 4, 16},
		{"same app and mailbox (delegated, me)",
			Options{AppID: "app-1", MailboxKey: "alice@contoso.com"}, Options{AppID: "app-1", Mailbox: "alice@contoso.com"}, 4, 16},
		{"other mailbox", Options{AppID: "app-1", Mailbox: "alice@contoso.com"}, Options{AppID: "app-1", Mailbox: "bob@contoso.com"}, 8, 12},
		{"other app", Options{AppID: "app-1", Mailbox: "alice@contoso.com"}, Options{AppID: "app-2", Mailbox: "alice@contoso.com"}, 8, 12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cur, peak atomic.Int32
			release := make(chan struct{})
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				c := cur.Add(1)
				for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
				cur.Add(-1)
				writeJSON(w, 200, map[string]any{"id": "x"})
			})
			reg := NewLimiters(0)
			mk := func(o Options) *Client {
				return newClient(t, f, func(opt *Options) {
					opt.Limiters, opt.AppID, opt.MailboxKey = reg, o.AppID, o.MailboxKey
					if o.Mailbox != "" {
						opt.Mailbox = o.Mailbox
					}
				}).c
			}
			ca, cb := mk(tc.a), mk(tc.b)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				c := ca
				if i%2 == 1 {
					c = cb
				}
				wg.Go(func() {
					_, _, err := c.Do(ctx, "GET", "contacts/x", nil, nil, nil)
					errs <- err
				})
			}
			// Every request is either at the server or waiting in line.
			waiting := func() int {
				if ca.sem == cb.sem {
					return ca.sem.waiting()
				}
				return ca.sem.waiting() + cb.sem.waiting()
			}
			for int(cur.Load())+waiting() < 20 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			if got, w := cur.Load(), waiting(); int(got) != tc.wantPeak || w != tc.queued {
				t.Errorf("in flight %d with %d waiting, want %d and %d", got, w, tc.wantPeak, tc.queued)
			}
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if p := int(peak.Load()); p != tc.wantPeak {
				t.Errorf("peak in flight %d, want %d", p, tc.wantPeak)
			}
			if got := ca.Stats().Requests + cb.Stats().Requests; got != 20 {
				t.Errorf("%d requests, want 20", got)
			}
		})
	}
}

// TestLimitersOptions: the registry needs the app id and a mailbox key
// that names one mailbox.
func TestLimitersOptions(t *testing.T) {
	reg := NewLimiters(4)
	cases := []struct {
		name string
		o    Options
		want string // "" = accepted
	}{
		{"app-only", Options{AppID: "a", Mailbox: "u@x"}, ""},
		{"delegated with key", Options{AppID: "a", MailboxKey: "u@x"}, ""},
		{"no app id", Options{Mailbox: "u@x"}, "AppID"},
		{"me without key", Options{AppID: "a"}, "MailboxKey"},
		{"key me", Options{AppID: "a", MailboxKey: "ME"}, "MailboxKey"},
		{"other MaxInFlight", Options{AppID: "a", Mailbox: "u@x", MaxInFlight: 8}, "MaxInFlight 8"},
		{"same MaxInFlight", Options{AppID: "a", Mailbox: "u@x", MaxInFlight: 4}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.BaseURL, o.Tokens, o.Limiters = "https://graph.microsoft.com/v1.0", newFakeTokens(), reg
			_, err := New(o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("New: err %v, want one naming %s", err, tc.want)
			}
		})
	}
}
