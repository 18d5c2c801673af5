// Package demo builds `cardbridge demo`, the zero-setup first run: a
// simulated Office 365 (graphsim) with sample contacts, the configuration
// of one pair between it and the built-in CardDAV server (a config.Config
// value, and the same as a file for other commands' --config), and the
// workspace that holds the state. The CLI wires it to sync and serve.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
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
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/web"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

// The demo's fixed names and sizes. The password is random on every run.
const (
	// Pair is the one pair of the demo's configuration.
	Pair = "demo"
	// Account is the Office 365 account of the pair (graphsim).
	Account = "office365"
	// User is the built-in server's user.
	User = "demo"
	// Mailbox is the simulated Office 365 user whose contacts the pair
	// syncs.
	Mailbox = "demo@contoso.example"
	// Tenant is graphsim's tenant domain (app-only flows need one).
	Tenant = "contoso.example"
	// SyncApp is the confidential app (client secret) the pair's account
	// uses.
	SyncApp = "c0a1b2c3-d4e5-4f60-8a71-92b3c4d5e6f7"
	// ConnectApp is the public app behind the web page's "Connect Office
	// 365" (authorization code + PKCE).
	ConnectApp = "c0a1b2c3-d4e5-4f60-8a71-92b3c4d5e6f8"
	// Seed makes the seeded address book the same on every run.
	Seed = 2026
	// Contacts is how many contacts graphsim starts with by default.
	Contacts = 300
	// MaxContacts is the most --contacts may ask for.
	MaxContacts = 100000
	// PhotoEvery: every n-th seeded contact has a photo.
	PhotoEvery = 7
	// Listen is where the demo serves unless it is busy or --listen says
	// otherwise.
	Listen = config.DefaultListen
	// Every is the pair's schedule.
	Every = time.Minute
	// ReadyWait bounds the wait for the server to answer before the URLs
	// are printed.
	ReadyWait = 30 * time.Second
	// simGrace bounds graphsim's shutdown.
	simGrace = 10 * time.Second
)

// ErrUsage marks the errors of a bad flag value (--listen, --dir,
// --contacts), as opposed to a failure of the machine.
var ErrUsage = errors.New("bad usage")

// Workspace is a demo's pieces: its folder, the server's address, the
// credentials and graphsim's URL once it runs.
type Workspace struct {
	Dir      string // the folder of the configuration and the state
	Listen   string // host:port the server listens on
	Password string // the server user's (and graphsim user's)
	Secret   string // the sync app's client secret
	Contacts int    // how many contacts graphsim is seeded with
	GraphURL string // graphsim's base URL (set by StartGraphsim)
	// Phones are the hosts a phone on the same network reaches the server
	// at: none on loopback, the machine's LAN addresses when listening on
	// every interface (see LANAddresses).
	Phones []string
}

// NewWorkspace checks the flags, picks the address (see ListenAddr) and
// the folder (see Folder) and makes the random password and app secret.
// keep says whether the folder stays at exit.
func NewWorkspace(dir, listen string, contacts int) (w *Workspace, keep bool, err error) {
	if contacts < 1 || contacts > MaxContacts {
		return nil, false, fmt.Errorf("--contacts %d: want 1 to %d: %w", contacts, MaxContacts, ErrUsage)
	}
	addr, err := ListenAddr(listen)
	if err != nil {
		return nil, false, err
	}
	w = &Workspace{Listen: addr, Contacts: contacts, Phones: networkAddrs(addr, LANAddresses)}
	if w.Password, err = Password(); err != nil {
		return nil, false, fmt.Errorf("demo: making a password: %w", err)
	}
	if w.Secret, err = Password(); err != nil {
		return nil, false, fmt.Errorf("demo: making the app's secret: %w", err)
	}
	if w.Dir, keep, err = Folder(dir); err != nil {
		return nil, false, err
	}
	return w, keep, nil
}

// ConfigFile is where Setup writes the configuration for other commands.
func (w *Workspace) ConfigFile() string { return filepath.Join(w.Dir, "config.yaml") }

// SecretFile holds the sync app's client secret.
func (w *Workspace) SecretFile() string { return filepath.Join(w.Dir, "graphsim-secret.txt") }

// BaseURL is the server's URL on this machine (a loopback one when it
// listens on every interface; see PhoneURLs for other machines).
func (w *Workspace) BaseURL() string { return localBase(w.Listen) }

// Config is the demo's configuration: the account of graphsim's sync app,
// the pair (Office 365 ⇄ the server's book, two-way, merge, every minute)
// and the server with "Connect Office 365" on graphsim; defaults applied
// as config.Load applies them to ConfigYAML.
func (w *Workspace) Config() *config.Config {
	statePath := filepath.Join(w.Dir, "state.db")
	graph := w.GraphURL + "/v1.0"
	return &config.Config{
		File:          w.ConfigFile(),
		State:         statePath,
		SecretKeyFile: config.DefaultSecretKeyFile(w.ConfigFile(), statePath),
		Trash:         config.DefaultTrash(),
		Accounts: map[string]config.Account{Account: {Name: Account, Tenant: Tenant, ClientID: SyncApp, Flow: "client-secret",
			ClientSecretFile: w.SecretFile(), User: Mailbox, Cloud: "global", LoginURL: w.GraphURL, GraphURL: graph}},
		Pairs: map[string]config.Pair{Pair: {Name: Pair,
			A:         config.Side{Type: config.SideO365, Account: Account},
			B:         config.Side{Type: config.SideServer, User: User, Addressbook: state.DefaultAddressBook},
			Direction: "two-way", Conflict: "merge", MaxDelete: config.DefaultLimit(), Every: Every}},
		Server: config.Server{Listen: w.Listen, PublicURL: w.BaseURL(),
			Connect: config.Connect{ClientID: ConnectApp, Tenant: Tenant, Cloud: "global", LoginURL: w.GraphURL, GraphURL: graph}},
	}
}

// ConfigYAML is cfg (the demo's Config) as a configuration file, for
// other commands run with --config while the demo runs.
func ConfigYAML(cfg *config.Config) []byte {
	acc, p := cfg.Accounts[Account], cfg.Pairs[Pair]
	c := cfg.Server.Connect
	var b bytes.Buffer
	b.WriteString("# Written by cardbridge demo. graphsim (the simulated Office 365) runs\n# inside the demo and is gone when it stops.\n")
	fmt.Fprintf(&b, "state: %s\n", yamlQuote(cfg.State))
	fmt.Fprintf(&b, "accounts:\n  %s:\n    tenant: %s\n    client_id: %s\n    flow: %s\n    client_secret_file: %s\n    user: %s\n    login_url: %s\n    graph_url: %s\n",
		acc.Name, acc.Tenant, acc.ClientID, acc.Flow, yamlQuote(acc.ClientSecretFile), acc.User, acc.LoginURL, acc.GraphURL)
	fmt.Fprintf(&b, "pairs:\n  %s:\n    a: {type: %s, account: %s}\n    b: {type: %s, user: %s, addressbook: %s}\n    direction: %s\n    conflict: %s\n    every: %s\n",
		p.Name, p.A.Type, p.A.Account, p.B.Type, p.B.User, p.B.Addressbook, p.Direction, p.Conflict, p.Every)
	fmt.Fprintf(&b, "server:\n  listen: %s\n  public_url: %s\n  connect:\n    client_id: %s\n    tenant: %s\n    cloud: %s\n    login_url: %s\n    graph_url: %s\n",
		cfg.Server.Listen, cfg.Server.PublicURL, c.ClientID, c.Tenant, c.Cloud, c.LoginURL, c.GraphURL)
	return b.Bytes()
}

// yamlQuote quotes a string for YAML (double quotes, JSON-style escapes).
func yamlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// Setup writes the workspace (the app's secret, ConfigFile) and the state
// with the server's user, and returns the demo's configuration. env is
// the environment the state's token key is looked up in.
func Setup(ctx context.Context, w *Workspace, env []string, log *slog.Logger) (*config.Config, error) {
	if err := os.WriteFile(w.SecretFile(), []byte(w.Secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("demo: writing the app secret: %w", err)
	}
	cfg := w.Config()
	if err := os.WriteFile(w.ConfigFile(), ConfigYAML(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("demo: writing the configuration: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(w.Password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("demo: hashing the password: %w", err)
	}
	db, err := pairs.OpenState(ctx, cfg, pairs.StateOptions{Env: env, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo: opening the state: %w", err)
	}
	defer db.Close()
	if err := db.AddUser(ctx, User, string(hash)); err != nil {
		return nil, fmt.Errorf("demo: adding the server's user: %w", err)
	}
	return cfg, nil
}

// StartGraphsim serves the simulated Office 365 (see Graphsim) on a
// random loopback port until stop is called, and sets w.GraphURL.
func StartGraphsim(ctx context.Context, w *Workspace, log *slog.Logger) (stop func(), err error) {
	sim, err := Graphsim(w, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: starting graphsim: %w", err)
	}
	w.GraphURL = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), simGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		<-done
	}, nil
}

// Graphsim builds the simulated Office 365: the pair's confidential app,
// the web page's public app, the demo user and their seeded contacts.
func Graphsim(w *Workspace, log *slog.Logger) (*graphsim.Server, error) {
	sim := graphsim.New(graphsim.Options{TenantDomain: Tenant, Seed: Seed, Logger: log.With("component", "graphsim")})
	sim.AddApp(graphsim.App{ClientID: SyncApp, Secret: w.Secret})
	// The web page's redirect URI (server.public_url is the base URL).
	sim.AddApp(graphsim.App{ClientID: ConnectApp, PublicClient: true, RedirectURIs: []string{web.RedirectURI(w.BaseURL())}})
	m := sim.AddUser(graphsim.User{UPN: Mailbox, DisplayName: "Demo User", Password: w.Password})
	if err := seedContacts(m, w.Contacts); err != nil {
		return nil, err
	}
	for i, id := range m.ContactIDs("") {
		if i%PhotoEvery != 0 {
			continue
		}
		photo, err := Photo(i)
		if err != nil {
			return nil, fmt.Errorf("demo: drawing a sample photo: %w", err)
		}
		m.SetPhoto(id, photo)
	}
	return sim, nil
}

// uidSpace is the namespace of the sample contacts' UIDs.
var uidSpace = uuid.MustParse("6f1d2c3b-4a59-4e87-9b0c-d1e2f3a4b5c6")

// SampleUID is the UID of the i-th sample contact: a name-based UUID of
// Seed and i, so the same on every run.
func SampleUID(i int) string {
	return uuid.NewSHA1(uidSpace, fmt.Appendf(nil, "cardbridge demo %d/%d", Seed, i)).String()
}

// seedContacts puts n sample contacts (graphsim.SeedContact of Seed) in
// m's default folder, each with the UID property cardbridge reads
// (SampleUID): graphsim's contact ids are random, and a UID derived from
// them would change on every run.
func seedContacts(m *graphsim.Mailbox, n int) error {
	for i := range n {
		var c map[string]any
		if err := json.Unmarshal(graphsim.SeedContact(Seed, i), &c); err != nil {
			return fmt.Errorf("demo: sample contact %d: %w", i, err)
		}
		c["singleValueExtendedProperties"] = []map[string]string{{"id": api.UIDPropertyID, "value": SampleUID(i)}}
		raw, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("demo: sample contact %d: %w", i, err)
		}
		m.Put("", raw)
	}
	return nil
}

// Photo draws the i-th sample photo: a 96×96 JPEG, a disc on a
// background, in colours that depend on i.
func Photo(i int) ([]byte, error) {
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

// Password is a random password easy to type on a phone: four groups of
// four lower-case letters and digits (about 80 bits).
func Password() (string, error) {
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

// ListenAddr picks the server's address: flag as given (it must be
// free), else Listen, else a free loopback port.
func ListenAddr(flag string) (string, error) {
	if flag != "" {
		host, _, err := net.SplitHostPort(flag)
		if err != nil {
			return "", fmt.Errorf("--listen %q: want host:port, like 127.0.0.1:5232: %w (%w)", flag, err, ErrUsage)
		}
		ln, err := net.Listen("tcp", flag)
		if err != nil {
			return "", fmt.Errorf("--listen %s: %w", flag, err)
		}
		// The host as given (0.0.0.0 stays, where Addr says [::]), the
		// port as picked for 0.
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close()
		return net.JoinHostPort(host, port), nil
	}
	for _, addr := range []string{Listen, "127.0.0.1:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		got := ln.Addr().String()
		ln.Close()
		return got, nil
	}
	return "", errors.New("demo: no free port on 127.0.0.1")
}

// Folder returns the workspace folder: dir, created if needed and
// required to be empty (an old demo's state would not match a new
// simulated Office 365), or a new temporary folder. keep says whether it
// stays at exit.
func Folder(dir string) (string, bool, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "cardbridge-demo-")
		if err != nil {
			return "", false, fmt.Errorf("demo: making a temporary workspace: %w", err)
		}
		return d, false, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, fmt.Errorf("--dir %s: %w (%w)", dir, err, ErrUsage)
	}
	ents, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", false, fmt.Errorf("--dir %s: %w", dir, err)
		}
	case err != nil:
		return "", false, fmt.Errorf("--dir %s: %w (%w)", dir, err, ErrUsage)
	case len(ents) > 0:
		return "", false, fmt.Errorf("--dir %s: not empty; the demo needs a new or empty folder (its simulated Office 365 starts afresh each time, so an earlier demo's state would not match it): %w", dir, ErrUsage)
	}
	return abs, true, nil
}

// WithoutConfigEnv drops the CARDBRIDGE_* variables from env: the demo is
// its own configuration, which settings from the environment must not
// change.
func WithoutConfigEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, config.EnvPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

// WaitHTTP polls url until it answers 200, ctx ends or limit passes.
func WaitHTTP(ctx context.Context, url string, limit time.Duration) bool {
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
