package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/web"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
)

// The demo's fixed names. The password is random on every run.
const (
	// demoPair is the one pair of the demo's configuration.
	demoPair = "demo"
	// demoAccount is the Office 365 account of the pair (graphsim).
	demoAccount = "office365"
	// demoUser is the built-in server's user and demoMailbox the
	// simulated Office 365 user whose contacts the pair syncs.
	demoUser    = "demo"
	demoMailbox = "demo@contoso.example"
	// demoTenant is graphsim's tenant domain (app-only flows need one).
	demoTenant = "contoso.example"
	// demoSyncApp is the confidential app (client secret) the pair's
	// account uses; demoConnectApp the public app behind the web page's
	// "Connect Office 365" (authorization code + PKCE).
	demoSyncApp    = "c0a1b2c3-d4e5-4f60-8a71-92b3c4d5e6f7"
	demoConnectApp = "c0a1b2c3-d4e5-4f60-8a71-92b3c4d5e6f8"
	// demoSeed makes the seeded address book the same on every run.
	demoSeed = 2026
	// demoContacts is how many contacts graphsim starts with.
	demoContacts = 300
	// demoPhotoEvery: every n-th seeded contact has a photo.
	demoPhotoEvery = 7
	// demoListen is where the demo serves unless it is busy or --listen
	// says otherwise.
	demoListen = config.DefaultListen
	// demoEvery is the pair's schedule.
	demoEvery = time.Minute
	// demoReadyWait bounds the wait for the server to answer before the
	// URLs are printed.
	demoReadyWait = 30 * time.Second
)

// demoFlags are the demo command's options.
type demoFlags struct {
	dir      string
	listen   string
	contacts int
	debounce time.Duration
}

// demoEnv is a running demo's pieces, for the summary it prints.
type demoEnv struct {
	dir, configPath string
	listen          string // host:port the server listens on
	password        string // the server user's (and graphsim user's)
	secret          string // the sync app's client secret
	contacts        int
	graphURL        string // graphsim's base URL
}

// demoCmd is `cardbridge demo`: the zero-setup first run.
func (a *app) demoCmd() *cobra.Command {
	var fl demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A first run that needs no account: simulated Office 365 <-> the built-in CardDAV server and its web page",
		Long: `Start everything cardbridge does, on this machine only, with no account and no
configuration: a simulated Office 365 (graphsim, on a random loopback port)
holding a few hundred sample contacts, the built-in CardDAV server with a
user "demo" and a random password, its web page, and a pair that syncs the
two both ways every minute (and a few seconds after a phone or mail client
changes the address book). The first sync shows a progress bar on a
terminal; then the web URL, the CardDAV URL and the credentials are
printed. Ctrl-C stops it all. The workspace (configuration, state) is a
temporary folder removed at exit, unless --dir names one to keep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.demo(cmd.Context(), fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.dir, "dir", "", "workspace folder, new or empty, kept at exit (default: a temporary folder, removed at exit)")
	f.StringVar(&fl.listen, "listen", "", "address of the CardDAV server and web page (default "+demoListen+", or a free port when that is busy)")
	f.IntVar(&fl.contacts, "contacts", demoContacts, "how many sample contacts the simulated Office 365 starts with")
	f.DurationVar(&fl.debounce, "debounce", daemon.DefaultDebounce, "how long after a client's last change the pair runs")
	return cmd
}

// demo runs the demo until ctx ends (Ctrl-C, SIGTERM).
func (a *app) demo(ctx context.Context, fl demoFlags) error {
	if fl.contacts < 1 || fl.contacts > 100000 {
		return withCode(exitUsage, fmt.Errorf("--contacts %d: want 1 to 100000", fl.contacts))
	}
	// The demo is its own configuration: settings from the environment
	// must not add pairs to it or move its state.
	a.env = withoutConfigEnv(a.env)

	listen, err := demoListenAddr(fl.listen)
	if err != nil {
		return err
	}
	dir, keep, err := demoWorkspace(fl.dir)
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Fprintf(a.stdout, "The demo's workspace stays in %s (its Office 365 was simulated in memory and is gone).\n", dir)
	} else {
		defer func() {
			if err := os.RemoveAll(dir); err != nil {
				fmt.Fprintf(a.stderr, "cardbridge: removing the demo workspace %s: %v\n", dir, err)
				return
			}
			fmt.Fprintf(a.stdout, "Removed the demo workspace %s.\n", dir)
		}()
	}

	password, err := demoPassword()
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: making a password: %w", err))
	}
	secret, err := demoPassword()
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: making the app's secret: %w", err))
	}
	env := &demoEnv{dir: dir, listen: listen, password: password, secret: secret, contacts: fl.contacts}

	// The simulated Office 365, on a random loopback port, until the end.
	sim, err := demoGraphsim(env, a.log)
	if err != nil {
		return withCode(exitFailed, err)
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: starting graphsim: %w", err))
	}
	env.graphURL = "http://" + simLn.Addr().String()
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	simDone := make(chan error, 1)
	go func() { simDone <- simSrv.Serve(simLn) }()
	stopSim := sync.OnceFunc(func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		if err := simSrv.Shutdown(sctx); err != nil {
			simSrv.Close()
		}
		<-simDone
	})
	defer stopSim()

	if err := a.demoSetup(ctx, env); err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "cardbridge demo: a simulated Office 365 with %d contacts (%s) <-> the built-in CardDAV server (user %s)\n\nFirst sync:\n",
		env.contacts, demoMailbox, demoUser)
	code := a.syncOnce(ctx, cfg, []string{demoPair}, syncFlags{})
	if ctx.Err() != nil {
		fmt.Fprintln(a.stdout, "Interrupted during the first sync; stopped.")
		return nil
	}
	if code != exitOK {
		return withCode(code, fmt.Errorf("demo: the first sync failed (%s)", exitMessage(code)))
	}

	// Serve, and print where to connect once the server answers.
	printCtx, stopPrint := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if waitHTTP(printCtx, "http://"+listen+"/healthz", demoReadyWait) {
			a.printDemo(env)
		}
	}()
	err = a.serve(ctx, fl.debounce)
	stopPrint()
	wg.Wait()
	stopSim()
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "Stopped: the server, the scheduler and the simulated Office 365.")
	return nil
}

// demoSetup writes the workspace: the app's secret, the configuration
// (made a.configPath) and the state with the server's user.
func (a *app) demoSetup(ctx context.Context, env *demoEnv) error {
	secretFile := filepath.Join(env.dir, "graphsim-secret.txt")
	if err := os.WriteFile(secretFile, []byte(env.secret+"\n"), 0o600); err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: writing the app secret: %w", err))
	}
	env.configPath = filepath.Join(env.dir, "config.yaml")
	if err := os.WriteFile(env.configPath, []byte(demoConfig(env, secretFile)), 0o600); err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: writing the configuration: %w", err))
	}
	a.configPath = env.configPath
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(env.password), bcrypt.DefaultCost)
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: hashing the password: %w", err))
	}
	db, err := a.openState(ctx, cfg, false)
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: opening the state: %w", err))
	}
	defer db.Close()
	if err := db.AddUser(ctx, demoUser, string(hash)); err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: adding the server's user: %w", err))
	}
	return nil
}

// demoConfig is the demo's configuration file.
func demoConfig(env *demoEnv, secretFile string) string {
	return fmt.Sprintf(`# Written by cardbridge demo. graphsim (the simulated Office 365) runs
# inside the demo and is gone when it stops.
state: %s
accounts:
  %s:
    tenant: %s
    client_id: %s
    flow: client-secret
    client_secret_file: %s
    user: %s
    login_url: %s
    graph_url: %s/v1.0
pairs:
  %s:
    a: {type: o365, account: %s}
    b: {type: server, user: %s, addressbook: %s}
    direction: two-way
    conflict: merge
    every: %s
server:
  listen: %s
  public_url: http://%s
  connect:
    client_id: %s
    tenant: %s
    cloud: global
    login_url: %s
    graph_url: %s/v1.0
`, yamlQuote(filepath.Join(env.dir, "state.db")),
		demoAccount, demoTenant, demoSyncApp, yamlQuote(secretFile), demoMailbox, env.graphURL, env.graphURL,
		demoPair, demoAccount, demoUser, state.DefaultAddressBook, demoEvery,
		env.listen, env.listen,
		demoConnectApp, demoTenant, env.graphURL, env.graphURL)
}

// yamlQuote quotes a string for YAML (double quotes, JSON-style escapes).
func yamlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// demoGraphsim builds the simulated Office 365: the pair's confidential
// app, the web page's public app, the demo user and their seeded contacts.
func demoGraphsim(env *demoEnv, log *slog.Logger) (*graphsim.Server, error) {
	sim := graphsim.New(graphsim.Options{TenantDomain: demoTenant, Seed: demoSeed, Logger: log.With("component", "graphsim")})
	base := "http://" + env.listen
	sim.AddApp(graphsim.App{ClientID: demoSyncApp, Secret: env.secret})
	// The web page's redirect URI (server.public_url is base).
	sim.AddApp(graphsim.App{ClientID: demoConnectApp, PublicClient: true, RedirectURIs: []string{web.RedirectURI(base)}})
	m := sim.AddUser(graphsim.User{UPN: demoMailbox, DisplayName: "Demo User", Password: env.password})
	m.Seed("", env.contacts, demoSeed)
	for i, id := range m.ContactIDs("") {
		if i%demoPhotoEvery != 0 {
			continue
		}
		photo, err := demoPhoto(i)
		if err != nil {
			return nil, fmt.Errorf("demo: drawing a sample photo: %w", err)
		}
		m.SetPhoto(id, photo)
	}
	return sim, nil
}

// demoPhoto draws the i-th sample photo: a 96×96 JPEG, a disc on a
// background, in colours that depend on i.
func demoPhoto(i int) ([]byte, error) {
	const size = 96
	bg := color.RGBA{uint8(60 + i*37%160), uint8(80 + i*53%140), uint8(100 + i*71%120), 255}
	fg := color.RGBA{255 - bg.R/2, 255 - bg.G/2, 255 - bg.B/2, 255}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			dx, dy := x-size/2, y-size/2
			c := bg
			if dx*dx+dy*dy < (size/3)*(size/3) {
				c = fg
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// demoPassword is a random password easy to type on a phone: four groups
// of four lower-case letters and digits (about 80 bits).
func demoPassword() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789" // no l, o, 0, 1
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, r := range raw {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(r)%len(alphabet)])
	}
	return b.String(), nil
}

// demoListenAddr picks the server's address: --listen as given (it must be
// free), else demoListen, else a free loopback port.
func demoListenAddr(flag string) (string, error) {
	if flag != "" {
		if _, _, err := net.SplitHostPort(flag); err != nil {
			return "", withCode(exitUsage, fmt.Errorf("--listen %q: want host:port, like 127.0.0.1:5232: %w", flag, err))
		}
		ln, err := net.Listen("tcp", flag)
		if err != nil {
			return "", withCode(exitFailed, fmt.Errorf("--listen %s: %w", flag, err))
		}
		got := ln.Addr().String() // port 0: the one picked
		ln.Close()
		return got, nil
	}
	for _, addr := range []string{demoListen, "127.0.0.1:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		got := ln.Addr().String()
		ln.Close()
		return got, nil
	}
	return "", withCode(exitFailed, errors.New("demo: no free port on 127.0.0.1"))
}

// demoWorkspace returns the workspace folder: dir, created if needed and
// required to be empty (an old demo's state would not match a new
// simulated Office 365), or a new temporary folder. keep says whether it
// stays at exit.
func demoWorkspace(dir string) (string, bool, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "cardbridge-demo-")
		if err != nil {
			return "", false, withCode(exitFailed, fmt.Errorf("demo: making a temporary workspace: %w", err))
		}
		return d, false, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, withCode(exitUsage, fmt.Errorf("--dir %s: %w", dir, err))
	}
	ents, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", false, withCode(exitFailed, fmt.Errorf("--dir %s: %w", dir, err))
		}
	case err != nil:
		return "", false, withCode(exitUsage, fmt.Errorf("--dir %s: %w", dir, err))
	case len(ents) > 0:
		return "", false, withCode(exitUsage, fmt.Errorf("--dir %s: not empty; the demo needs a new or empty folder (its simulated Office 365 starts afresh each time, so an earlier demo's state would not match it)", dir))
	}
	return abs, true, nil
}

// withoutConfigEnv drops the CARDBRIDGE_* variables from env.
func withoutConfigEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, config.EnvPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

// waitHTTP polls url until it answers 200, ctx ends or limit passes.
func waitHTTP(ctx context.Context, url string, limit time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// printDemo prints where to connect, once the server answers.
func (a *app) printDemo(env *demoEnv) {
	base := "http://" + env.listen
	fmt.Fprintf(a.stdout, `
The demo is running.

  Web page:      %s%s
  CardDAV:       %s/  (phones and mail clients find the address book from there)
  Principal:     %s/principals/%s/
  Address book:  %s/addressbooks/%s/%s/
  User name:     %s
  Password:      %s

"Connect Office 365" on the web page signs in to the simulated Office 365
as %s with the same password.

Changes made on either side sync within a minute, and a few seconds after a
phone or mail client changes the address book.
Try: cardbridge --config %s status
Press Ctrl-C to stop.
`, base, web.Prefix, base, base, demoUser, base, demoUser, state.DefaultAddressBook, demoUser, env.password, demoMailbox, env.configPath)
}
