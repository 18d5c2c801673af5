package graphsim

import (
	"strings"
	"testing"
	"time"
)

// TestCheckStandalone: each bad setting of a standalone simulator is
// refused naming its flag; good ones pass.
func TestCheckStandalone(t *testing.T) {
	cases := []struct {
		name      string
		opts      Options
		chaos     Chaos
		redirects []string
		want      string // "" for no error
	}{
		{"defaults", Options{}, Chaos{}, nil, ""},
		{"faults", Options{Transient412Rate: -1}, Chaos{P429: 0.3, P503: 0.3, PReset: 0.4, PStall: 1, P504: 1, Stall: time.Second, LargePage: 50},
			[]string{"https://dav.example.com/ui/connect/callback", "http://127.0.0.1:5232/ui/connect/callback", "http://[::1]:5232/cb"}, ""},
		{"unlimited", Options{RateLimit: -1, ConcurrencyLimit: -1, ContactDeltaPageCap: -1, SyncStateGenerations: -1}, Chaos{}, nil, ""},
		{"412 rate", Options{Transient412Rate: 1.5}, Chaos{}, nil, "--transient-412 1.5"},
		{"412 rate negative", Options{Transient412Rate: -0.5}, Chaos{}, nil, "--transient-412 -0.5"},
		{"429 probability", Options{}, Chaos{P429: -0.1}, nil, "--fault-429 -0.1"},
		{"503 probability", Options{}, Chaos{P503: 1.1}, nil, "--fault-503 1.1"},
		{"reset probability", Options{}, Chaos{PReset: 3}, nil, "--fault-reset 3"},
		{"stall probability", Options{}, Chaos{PStall: 2}, nil, "--fault-stall 2"},
		{"504 probability", Options{}, Chaos{P504: 1.5}, nil, "--fault-504 1.5"},
		{"sum", Options{}, Chaos{P429: 0.5, P503: 0.5, PReset: 0.5}, nil, "the sum must not exceed 1"},
		{"negative latency", Options{Latency: -time.Second}, Chaos{}, nil, "must not be negative"},
		{"negative stall", Options{}, Chaos{Stall: -time.Second}, nil, "must not be negative"},
		{"negative generations", Options{}, Chaos{AdvanceGenerations: -1}, nil, "--advance-generations"},
		{"negative large page", Options{}, Chaos{LargePage: -1}, nil, "--large-page"},
		{"negative page size", Options{MaxPageSize: -1}, Chaos{}, nil, "must not be negative"},
		{"rate limit below -1", Options{RateLimit: -2}, Chaos{}, nil, "not below -1"},
		{"concurrency below -1", Options{ConcurrencyLimit: -2}, Chaos{}, nil, "not below -1"},
		{"http redirect", Options{}, Chaos{}, []string{"http://dav.example.com/cb"}, `--redirect-uri "http://dav.example.com/cb": http is allowed only on localhost`},
		{"relative redirect", Options{}, Chaos{}, []string{"/ui/connect/callback"}, "must be an absolute http(s) URL"},
		{"other scheme", Options{}, Chaos{}, []string{"ftp://dav.example.com/cb"}, "must be an absolute http(s) URL"},
		{"fragment", Options{}, Chaos{}, []string{"https://dav.example.com/cb#x"}, "must not have a fragment"},
		{"not a URL", Options{}, Chaos{}, []string{"https://[::1"}, "not a URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckStandalone(tc.opts, tc.chaos, tc.redirects)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestChaosFaulty: every fault, and only a fault, makes a Chaos faulty.
func TestChaosFaulty(t *testing.T) {
	cases := []struct {
		name string
		c    Chaos
		want bool
	}{
		{"none", Chaos{}, false},
		{"settings only", Chaos{Stall: time.Second, LargePage: 50, SubRequests: true, Seed: 7}, false},
		{"429", Chaos{P429: 0.1}, true},
		{"503", Chaos{P503: 0.1}, true},
		{"reset", Chaos{PReset: 0.1}, true},
		{"stall", Chaos{PStall: 0.1}, true},
		{"delta expiry", Chaos{ExpireDeltaAfter: 3}, true},
		{"generations", Chaos{AdvanceGenerations: 1}, true},
		{"504", Chaos{P504: 0.1}, true},
	}
	for _, tc := range cases {
		if got := tc.c.Faulty(); got != tc.want {
			t.Errorf("%s: Faulty() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
