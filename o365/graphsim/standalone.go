package graphsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// StandaloneClientID is the client id of the app Standalone registers.
const StandaloneClientID = "0d5e9c3a-6b1f-4e27-8a90-5c4d3b2a1f00"

// StandaloneRedirectURIs are the redirect URIs Standalone's app always has:
// the CLI's browser login (a loopback root) and the "Connect Office 365"
// callback of `cardbridge serve` on its default address. Loopback URIs
// match any port, as at Microsoft, so a serve on another loopback port
// works too.
var StandaloneRedirectURIs = []string{"http://localhost", "http://127.0.0.1", "http://127.0.0.1:5232/ui/connect/callback", "http://localhost:5232/ui/connect/callback"}

// Standalone serves a simulator on addr until ctx ends: one multi-tenant
// public client app (StandaloneClientID, StandaloneRedirectURIs), one user
// alice@contoso.example (password "alice") with contacts seeded contacts,
// and AutoApprove (the /devicelogin page approves alice without a
// password; /authorize with login_hint redirects at once). It prints the
// configuration to use on standard output.
func Standalone(ctx context.Context, addr string, contacts int, log *slog.Logger) error {
	return StandaloneWith(ctx, addr, contacts, Options{}, nil, nil, log)
}

// StandaloneWith is Standalone with the simulator's options (AutoApprove
// is always on), when chaos is not nil its probabilistic faults in front
// (WithChaos; the faults injected are logged when it stops), and more
// redirect URIs for the app (e.g. a serve's public_url +
// /ui/connect/callback).
func StandaloneWith(ctx context.Context, addr string, contacts int, opts Options, chaos *Chaos, redirectURIs []string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	opts.AutoApprove, opts.Logger = true, log
	s, redirects := standaloneServer(contacts, opts, redirectURIs)
	var handler http.Handler = s
	var ch *ChaosHandler
	if chaos != nil {
		ch = WithChaos(s, *chaos)
		handler = ch
		defer func() { log.Info("graphsim: faults injected", "stats", fmt.Sprintf("%+v", ch.Stats())) }()
	}
	defer func() {
		log.Info("graphsim: Exchange's own faults", "transient412", s.Stats().Transient412, "gone410", s.Stats().Status[410])
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	domain := s.opts.TenantDomain
	fmt.Printf(`graphsim listening on %s (user alice@contoso.example, password "alice", %d contacts)
device sign-in page: %s/devicelogin
redirect URIs registered: %s (loopback ones on any port)
configuration:
  accounts:
    sim:
      tenant: %s
      client_id: %s
      flow: device
      login_url: %s
      graph_url: %s/v1.0
  server:
    connect:   # "Connect Office 365" of cardbridge serve
      tenant: %s
      client_id: %s
      login_url: %s
      graph_url: %s/v1.0
`, base, contacts, base, strings.Join(redirects, " "), domain, StandaloneClientID, base, base, domain, StandaloneClientID, base, base)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// standaloneServer is Standalone's simulator (opts as given) and the
// redirect URIs of its app.
func standaloneServer(contacts int, opts Options, redirectURIs []string) (*Server, []string) {
	s := New(opts)
	redirects := append(slices.Clone(StandaloneRedirectURIs), redirectURIs...)
	s.AddApp(App{ClientID: StandaloneClientID, Audience: AudienceMultipleOrgs, RedirectURIs: redirects, PublicClient: true, MailboxSettings: true})
	m := s.AddUser(User{ID: "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", UPN: "alice@contoso.example", DisplayName: "Alice Example", Password: "alice"})
	m.Seed("", contacts, 1)
	return s, redirects
}
