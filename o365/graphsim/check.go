package graphsim

import (
	"errors"
	"fmt"
	"net/url"
)

// CheckStandalone checks the settings of a standalone simulator (the
// `cardbridge graphsim` flags) before StandaloneWith runs it: the
// probabilities of chaos between 0 and 1 and the sum of those of failing
// answers at most 1, no negative latency, stall, page size, delta expiry
// or generations, limits not below -1 (unlimited), and every redirect URI
// one Microsoft's portal would take (see CheckRedirectURI). Each error
// names the flag.
func CheckStandalone(opts Options, chaos Chaos, redirectURIs []string) error {
	if r := opts.Transient412Rate; r != -1 && (r < 0 || r > 1) {
		return fmt.Errorf("graphsim: --transient-412 %v: a probability between 0 and 1 (0 is Exchange's 0.035), or -1 for none", r)
	}
	for _, p := range []struct {
		flag string
		p    float64
	}{{"--fault-429", chaos.P429}, {"--fault-503", chaos.P503}, {"--fault-reset", chaos.PReset}, {"--fault-stall", chaos.PStall}, {"--fault-504", chaos.P504}} {
		if p.p < 0 || p.p > 1 {
			return fmt.Errorf("graphsim: %s %v: a probability must be between 0 and 1", p.flag, p.p)
		}
	}
	if sum := chaos.P429 + chaos.P503 + chaos.PReset; sum > 1 {
		return fmt.Errorf("graphsim: --fault-429 + --fault-503 + --fault-reset = %v: the sum must not exceed 1", sum)
	}
	if opts.Latency < 0 || chaos.Stall < 0 || chaos.ExpireDeltaAfter < 0 || chaos.AdvanceGenerations < 0 || chaos.LargePage < 0 || opts.MaxPageSize < 0 ||
		opts.RateLimit < -1 || opts.ContactDeltaPageCap < -1 || opts.SyncStateGenerations < -1 || opts.ConcurrencyLimit < -1 {
		return errors.New("graphsim: --latency, --stall, --expire-delta-after, --advance-generations, --large-page and --max-page-size must not be negative, --rate-limit, --concurrency-limit, --delta-page-cap and --sync-state-generations not below -1")
	}
	for _, r := range redirectURIs {
		if err := CheckRedirectURI(r); err != nil {
			return fmt.Errorf("graphsim: --redirect-uri %q: %w", r, err)
		}
	}
	return nil
}

// Faulty reports whether c asks for any fault; when it does not,
// StandaloneWith should get no Chaos at all.
func (c Chaos) Faulty() bool {
	return c.P429 > 0 || c.P503 > 0 || c.PReset > 0 || c.PStall > 0 || c.ExpireDeltaAfter > 0 || c.AdvanceGenerations > 0 || c.P504 > 0
}

// CheckRedirectURI refuses what Microsoft's portal refuses as a redirect
// URI: anything but an absolute https URL, or http on a loopback host.
func CheckRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL: %w", err)
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return errors.New("must be an absolute http(s) URL, e.g. https://dav.example.com/ui/connect/callback")
	case u.Fragment != "":
		return errors.New("must not have a fragment (#...)")
	case u.Scheme == "http" && u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1" && u.Hostname() != "::1":
		return errors.New("http is allowed only on localhost/127.0.0.1; use https")
	}
	return nil
}
