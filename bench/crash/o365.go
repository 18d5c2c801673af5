package crash

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/o365"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/vcard"
)

// Graphsim is `cardbridge graphsim` running as its own process, so that it
// outlives the sync processes the campaign kills.
type Graphsim struct {
	// Base is the simulator's root URL (login and Graph).
	Base string
	cmd  *exec.Cmd
	log  *testutil.LockedBuffer
	done chan error
	stop sync.Once
}

// StartGraphsim starts `binary graphsim --listen addr` with extra flags
// (--contacts, --latency, --fault-…) and waits until it listens.
func StartGraphsim(ctx context.Context, binary, addr string, flags ...string) (*Graphsim, error) {
	args := append([]string{"graphsim", "--listen", addr}, flags...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start graphsim: %w", err)
	}
	g := &Graphsim{cmd: cmd, log: &testutil.LockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = g.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start graphsim: %w", err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			g.log.Write([]byte(line + "\n"))
			if strings.HasPrefix(line, "graphsim listening on ") {
				ready <- strings.Fields(line)[3]
			}
		}
	}()
	go func() { g.done <- cmd.Wait() }()
	select {
	case base := <-ready:
		g.Base = base
		return g, nil
	case err := <-g.done:
		return nil, fmt.Errorf("start graphsim: it exited (%v): %s", err, g.log)
	case <-time.After(60 * time.Second):
		g.Stop()
		return nil, fmt.Errorf("start graphsim: not listening after 60 s: %s", g.log)
	case <-ctx.Done():
		g.Stop()
		return nil, fmt.Errorf("start graphsim: %w", ctx.Err())
	}
}

// Stop ends the simulator (SIGINT, then SIGKILL after 10 s) and returns
// what it printed.
// Calling it again only returns the output.
func (g *Graphsim) Stop() string {
	g.stop.Do(func() {
		if g.cmd.Process == nil {
			return
		}
		g.cmd.Process.Signal(os.Interrupt)
		select {
		case <-g.done:
		case <-time.After(10 * time.Second):
			g.cmd.Process.Kill()
			<-g.done
		}
	})
	return g.log.String()
}

// FaultsLine is the simulator's count of injected faults, from its output
// once stopped ("" when it injected none).
func (g *Graphsim) FaultsLine() string {
	var out []string
	for _, l := range strings.Split(g.Stop(), "\n") {
		if strings.Contains(l, "faults injected") || strings.Contains(l, "Exchange's own faults") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}

// AccountYAML is the account block for the simulator (device flow).
func (g *Graphsim) AccountYAML(name string) string {
	return fmt.Sprintf("  %s:\n    tenant: organizations\n    client_id: %s\n    flow: device\n    login_url: %s\n    graph_url: %s/v1.0\n",
		name, graphsim.StandaloneClientID, g.Base, g.Base)
}

var userCodeRe = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

// approve plays the user at the device sign-in page.
func (g *Graphsim) approve(ctx context.Context, code string) error {
	form := url.Values{"otc": {code}, "consent": {"accept"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.Base+"/devicelogin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("approve device code: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("approve device code: %d %s", res.StatusCode, body)
	}
	return nil
}

// Login runs `cardbridge login ACCOUNT` and approves its device code.
func (g *Graphsim) Login(ctx context.Context, binary, config, account string) error {
	cmd := exec.CommandContext(ctx, binary, "--config", config, "login", account)
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("login %s: %w", account, err)
	}
	var stdout testutil.LockedBuffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("login %s: %w", account, err)
	}
	var text testutil.LockedBuffer
	approved := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			text.Write([]byte(sc.Text() + "\n"))
			if m := userCodeRe.FindStringSubmatch(sc.Text()); m != nil && !sent {
				sent = true
				approved <- g.approve(ctx, m[1])
			}
		}
		if !sent {
			approved <- fmt.Errorf("login printed no device code")
		}
	}()
	aerr := <-approved
	werr := cmd.Wait()
	if aerr != nil || werr != nil {
		return fmt.Errorf("login %s: %v %v: %s%s", account, aerr, werr, stdout.String(), text.String())
	}
	return nil
}

// deviceTokens is the harness's own delegated sign-in to the simulator.
type deviceTokens struct {
	base string

	mu      sync.Mutex
	access  string
	refresh string
	expires time.Time
}

func (d *deviceTokens) tokenCall(ctx context.Context, form url.Values) (map[string]any, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/organizations/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("token answer %d: %w", res.StatusCode, err)
	}
	return m, nil
}

func (d *deviceTokens) take(m map[string]any) error {
	at, _ := m["access_token"].(string)
	rt, _ := m["refresh_token"].(string)
	exp, _ := m["expires_in"].(float64)
	if at == "" || rt == "" {
		return fmt.Errorf("token answer without tokens: %v", m["error_description"])
	}
	d.access, d.refresh, d.expires = at, rt, time.Now().Add(time.Duration(exp)*time.Second-5*time.Minute)
	return nil
}

// Token implements graph.TokenSource.
func (d *deviceTokens) Token(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.access != "" && time.Now().Before(d.expires) {
		return d.access, nil
	}
	m, err := d.tokenCall(ctx, url.Values{"grant_type": {"refresh_token"}, "client_id": {graphsim.StandaloneClientID},
		"refresh_token": {d.refresh}, "scope": {"https://graph.microsoft.com/Contacts.ReadWrite offline_access"}})
	if err != nil {
		return "", fmt.Errorf("refresh the harness's token: %w", err)
	}
	if err := d.take(m); err != nil {
		return "", fmt.Errorf("refresh the harness's token: %w", err)
	}
	return d.access, nil
}

// Invalidate implements graph.TokenSource.
func (d *deviceTokens) Invalidate() {
	d.mu.Lock()
	d.access = ""
	d.mu.Unlock()
}

// signIn gets the harness's own tokens through the device flow.
func (g *Graphsim) signIn(ctx context.Context) (*deviceTokens, error) {
	d := &deviceTokens{base: g.Base}
	form := url.Values{"client_id": {graphsim.StandaloneClientID}, "scope": {"https://graph.microsoft.com/Contacts.ReadWrite offline_access"}}
	res, err := http.PostForm(g.Base+"/organizations/oauth2/v2.0/devicecode", form)
	if err != nil {
		return nil, fmt.Errorf("harness sign-in: %w", err)
	}
	var dc struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	err = json.NewDecoder(res.Body).Decode(&dc)
	res.Body.Close()
	if err != nil || dc.DeviceCode == "" {
		return nil, fmt.Errorf("harness sign-in: no device code (%v)", err)
	}
	if err := g.approve(ctx, dc.UserCode); err != nil {
		return nil, fmt.Errorf("harness sign-in: %w", err)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		m, err := d.tokenCall(ctx, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"client_id": {graphsim.StandaloneClientID}, "device_code": {dc.DeviceCode}})
		if err != nil {
			return nil, fmt.Errorf("harness sign-in: %w", err)
		}
		if e, _ := m["error"].(string); e == "authorization_pending" || e == "slow_down" {
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		if err := d.take(m); err != nil {
			return nil, fmt.Errorf("harness sign-in: %w", err)
		}
		return d, nil
	}
	return nil, errors.New("harness sign-in: no token within 2 minutes")
}

// exemptTransport marks the harness's requests so that injected faults
// leave them alone: the harness checks the simulator, it is not under test.
type exemptTransport struct{}

// RoundTrip sends r with the exemption header.
func (exemptTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(graphsim.ChaosExemptHeader, "1")
	return http.DefaultTransport.RoundTrip(r)
}

// O365Side is the simulator's mailbox (alice's default contacts folder)
// as the harness reaches it through Graph.
type O365Side struct {
	c *graph.Client
}

// NewO365Side signs the harness in to the simulator.
func NewO365Side(ctx context.Context, g *Graphsim) (*O365Side, error) {
	tok, err := g.signIn(ctx)
	if err != nil {
		return nil, err
	}
	c, err := graph.New(graph.Options{BaseURL: g.Base + "/v1.0", Tokens: tok, HTTPClient: &http.Client{Transport: exemptTransport{}}})
	if err != nil {
		return nil, fmt.Errorf("harness graph client: %w", err)
	}
	return &O365Side{c: c}, nil
}

// Name implements Side.
func (o *O365Side) Name() string { return "o365" }

// List implements Side: each contact as cardbridge maps it (ToVCard), with
// the UID cardbridge derives for a contact that carries none.
func (o *O365Side) List(ctx context.Context) ([]Item, error) {
	cs, err := o.c.ListContacts(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list o365 contacts: %w", err)
	}
	out := make([]Item, 0, len(cs))
	for _, c := range cs {
		card := o365.ToVCard(c, nil)
		if card.UID() == "" {
			card.SetUID(o365.DerivedUID(c.ID))
		}
		out = append(out, Item{UID: card.UID(), Ref: c.ID, ETag: c.ChangeKey, Card: card})
	}
	return out, nil
}

func (o *O365Side) one(ctx context.Context, op graph.Op) (graph.Result, error) {
	r := o.c.Batch(ctx, []graph.Op{op})[0]
	return r, r.Err
}

// SetTitle implements Side (PATCH jobTitle, as Outlook would).
func (o *O365Side) SetTitle(ctx context.Context, it Item, title string) error {
	body, _ := json.Marshal(map[string]string{"jobTitle": title})
	if _, err := o.one(ctx, graph.Op{Method: http.MethodPatch, Path: "contacts/" + url.PathEscape(it.Ref), Body: body}); err != nil {
		return fmt.Errorf("edit o365 contact %s: %w", it.Ref, err)
	}
	return nil
}

// Create implements Side: the contact is posted without a UID property,
// as Outlook makes it; its UID is the one cardbridge derives from its id.
func (o *O365Side) Create(ctx context.Context, card *vcard.Card) (string, error) {
	c := card.Clone()
	c.Remove("UID")
	gc, _ := o365.FromVCard(c)
	body, err := o365.ContactJSON(gc)
	if err != nil {
		return "", fmt.Errorf("create o365 contact: %w", err)
	}
	r, err := o.one(ctx, graph.Op{Method: http.MethodPost, Path: "contacts", Body: body})
	if err != nil {
		return "", fmt.Errorf("create o365 contact: %w", err)
	}
	var made api.Contact
	if err := json.Unmarshal(r.Body, &made); err != nil || made.ID == "" {
		return "", fmt.Errorf("create o365 contact: answer without id: %s", r.Body)
	}
	return o365.DerivedUID(made.ID), nil
}

// Delete implements Side.
func (o *O365Side) Delete(ctx context.Context, it Item) error {
	if _, err := o.one(ctx, graph.Op{Method: http.MethodDelete, Path: "contacts/" + url.PathEscape(it.Ref)}); err != nil {
		return fmt.Errorf("delete o365 contact %s: %w", it.Ref, err)
	}
	return nil
}

// O365Norm is the content both sides of an o365 pair must agree on: what
// Office 365 holds of a card (o365.Project), photo and revision aside.
func O365Norm(c *vcard.Card) string {
	p := o365.Project(c)
	p.Remove("PHOTO")
	p.Remove("REV")
	return p.Hash()
}
