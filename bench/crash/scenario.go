package crash

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/o365"
	"github.com/cardbridge/cardbridge/vcard"
)

// Scenario is a pair ready for a campaign and what must be stopped after.
type Scenario struct {
	Pair *Pair
	// Graphsim or Radicale, whichever the scenario runs.
	Graphsim *Graphsim
	Radicale *Radicale
	// VdirDir is the vCard folder of a vdir side.
	VdirDir string
}

// Close stops the scenario's servers.
func (s *Scenario) Close() {
	if s.Graphsim != nil {
		s.Graphsim.Stop()
	}
	if s.Radicale != nil {
		s.Radicale.Kill()
	}
}

// O365Vdir sets up pair "p": a = Office 365 (graphsim as its own process,
// started with --contacts contacts and extra flags such as --latency or
// --fault-…), b = a vCard folder, two-way, signed in with the device flow.
// dir holds everything; vdir, when not "", is the vCard folder to use (a
// small file system, say).
func O365Vdir(ctx context.Context, binary, dir string, contacts int, vdir string, graphsimFlags ...string) (*Scenario, error) {
	return O365VdirOn(ctx, binary, dir, "", contacts, vdir, graphsimFlags...)
}

// O365VdirOn is O365Vdir with the state at stateAt: a file path or a
// postgres:// URL ("" for state.db in dir).
func O365VdirOn(ctx context.Context, binary, dir, stateAt string, contacts int, vdir string, graphsimFlags ...string) (*Scenario, error) {
	if stateAt == "" {
		stateAt = filepath.Join(dir, "state.db")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	// Graph's quota (10,000 requests per 10 minutes per app and mailbox)
	// is lifted: the harness and the runs share one app, and a campaign
	// makes months of changes in minutes. Throttling has its own faults.
	flags := append([]string{"--contacts", fmt.Sprint(contacts), "--rate-limit", "-1"}, graphsimFlags...)
	g, err := StartGraphsim(ctx, binary, fmt.Sprintf("127.0.0.1:%d", port), flags...)
	if err != nil {
		return nil, err
	}
	sc := &Scenario{Graphsim: g}
	if vdir == "" {
		vdir = filepath.Join(dir, "vdir")
	}
	if err := os.MkdirAll(vdir, 0o700); err != nil {
		sc.Close()
		return nil, fmt.Errorf("o365 ⇄ vdir setup: %w", err)
	}
	sc.VdirDir = vdir
	cfg := filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf("state: %s\naccounts:\n%spairs:\n  p:\n    a: {type: o365, account: sim}\n    b: {type: vdir, path: %s}\n    direction: two-way\n",
		stateAt, g.AccountYAML("sim"), vdir)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		sc.Close()
		return nil, fmt.Errorf("o365 ⇄ vdir setup: %w", err)
	}
	if config.IsStateURL(stateAt) {
		// No key file is made for a PostgreSQL state (docs/scaling.md):
		// give it one, where the configuration's default looks.
		key := make([]byte, 32)
		rand.Read(key)
		if err := os.WriteFile(filepath.Join(dir, "state.key"), []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
			sc.Close()
			return nil, fmt.Errorf("o365 ⇄ vdir setup: %w", err)
		}
	}
	if err := g.Login(ctx, binary, cfg, "sim"); err != nil {
		sc.Close()
		return nil, err
	}
	a, err := NewO365Side(ctx, g)
	if err != nil {
		sc.Close()
		return nil, err
	}
	sc.Pair = &Pair{Binary: binary, Config: cfg, Env: []string{"HOME=" + dir}, A: a, B: &VdirSide{Dir: vdir}, Norm: O365Norm}
	return sc, nil
}

// ServerRadicale sets up pair "p": a = the built-in server's book
// alice/contacts seeded with contacts realistic cards, b = a Radicale
// book (bench/contacts), two-way. The first sync uploads the cards to
// Radicale, which creates the book; with both, Radicale's storage is
// seeded with the same cards instead (as a restored backup would be) and
// the first sync only links them: Radicale takes a fraction of a second
// per upload into a book of thousands.
func ServerRadicale(ctx context.Context, binary, radicale, dir string, contacts int, seed int64, both bool) (*Scenario, error) {
	return ServerRadicaleOn(ctx, binary, radicale, dir, "", contacts, seed, both)
}

// ServerRadicaleOn is ServerRadicale with the state (and so the server's
// store) at stateAt: a file path or a postgres:// URL ("" for state.db in
// dir).
func ServerRadicaleOn(ctx context.Context, binary, radicale, dir, stateAt string, contacts int, seed int64, both bool) (*Scenario, error) {
	if stateAt == "" {
		stateAt = filepath.Join(dir, "state.db")
	}
	r := &Radicale{Bin: radicale, Folder: filepath.Join(dir, "radicale")}
	cards := make([]*vcard.Card, contacts)
	for i := range cards {
		cards[i] = SeedCard(seed, i)
	}
	if both {
		book := filepath.Join(r.Folder, "collection-root", "bench", "contacts")
		if err := os.MkdirAll(book, 0o700); err != nil {
			return nil, fmt.Errorf("seed radicale: %w", err)
		}
		if err := os.WriteFile(filepath.Join(book, ".Radicale.props"), []byte(`{"D:displayname": "contacts", "tag": "VADDRESSBOOK"}`), 0o600); err != nil {
			return nil, fmt.Errorf("seed radicale: %w", err)
		}
		for _, c := range cards {
			if err := os.WriteFile(filepath.Join(book, c.UID()+".vcf"), c.Encode(), 0o600); err != nil {
				return nil, fmt.Errorf("seed radicale: %w", err)
			}
		}
	}
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	sc := &Scenario{Radicale: r}
	db := stateAt
	cfg := filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf("state: %s\npairs:\n  p:\n    a: {type: server, user: alice, addressbook: contacts}\n    b: {type: carddav, url: %s, username: bench, password_env: DAV_PW, addressbook: contacts, create: true}\n    direction: two-way\n",
		db, r.Root())
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		sc.Close()
		return nil, fmt.Errorf("server ⇄ radicale setup: %w", err)
	}
	add := exec.CommandContext(ctx, binary, "--config", cfg, "user", "add", "alice")
	add.Env = append(os.Environ(), "HOME="+dir)
	add.Stdin = strings.NewReader("correct horse battery\n")
	if out, err := add.CombinedOutput(); err != nil {
		sc.Close()
		return nil, fmt.Errorf("server ⇄ radicale setup: user add: %v: %s", err, out)
	}
	store := &StoreSide{DB: db, User: "alice", Book: "contacts"}
	if err := store.CreateMany(ctx, cards); err != nil {
		sc.Close()
		return nil, err
	}
	sc.Pair = &Pair{Binary: binary, Config: cfg, Env: []string{"HOME=" + dir, "DAV_PW=pw"}, A: store,
		B: &RadicaleSide{R: r, Book: "bench/contacts"}, Norm: DAVNorm}
	return sc, nil
}

// SeedCard is the i-th realistic contact of a seed (the simulator's
// seeded mailbox contact, as a vCard), with UID "seed-SEED-I".
func SeedCard(seed int64, i int) *vcard.Card {
	var c api.Contact
	json.Unmarshal(graphsim.SeedContact(seed, i), &c)
	card := o365.ToVCard(c, nil)
	card.SetUID(fmt.Sprintf("seed-%d-%05d", seed, i))
	return card
}
