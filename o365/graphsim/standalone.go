package graphsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// StandaloneClientID is the client id of the app Standalone registers.
const StandaloneClientID = "0d5e9c3a-6b1f-4e27-8a90-5c4d3b2a1f00"

// Standalone serves a simulator on addr until ctx ends: one public client
// app (StandaloneClientID, loopback redirects), one user
// alice@contoso.example (password "alice") with contacts seeded contacts,
// and AutoApprove (the /devicelogin page approves alice without a
// password; /authorize with login_hint redirects at once). It prints the
// configuration to use on standard output.
func Standalone(ctx context.Context, addr string, contacts int, log *slog.Logger) error {
	return StandaloneWith(ctx, addr, contacts, Options{}, nil, log)
}

// StandaloneWith is Standalone with the simulator's options (AutoApprove
// is always on) and, when chaos is not nil, its probabilistic faults in
// front (WithChaos; the faults injected are logged when it stops).
func StandaloneWith(ctx context.Context, addr string, contacts int, opts Options, chaos *Chaos, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	opts.AutoApprove, opts.Logger = true, log
	s := New(opts)
	var handler http.Handler = s
	var ch *ChaosHandler
	if chaos != nil {
		ch = WithChaos(s, *chaos)
		handler = ch
		defer func() { log.Info("graphsim: faults injected", "stats", fmt.Sprintf("%+v", ch.Stats())) }()
	}
	s.AddApp(App{ClientID: StandaloneClientID, RedirectURIs: []string{"http://localhost", "http://127.0.0.1"}, PublicClient: true})
	m := s.AddUser(User{ID: "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", UPN: "alice@contoso.example", DisplayName: "Alice Example", Password: "alice"})
	m.Seed("", contacts, 1)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Printf(`graphsim listening on %s (user alice@contoso.example, password "alice", %d contacts)
device sign-in page: %s/devicelogin
configuration:
  accounts:
    sim:
      tenant: organizations
      client_id: %s
      flow: device
      login_url: %s
      graph_url: %s/v1.0
`, base, contacts, base, StandaloneClientID, base, base)
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
