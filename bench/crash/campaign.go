package crash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cardbridge/cardbridge/vcard"
)

// Pair is a configured cardbridge pair and the harness's view of its sides.
type Pair struct {
	// Binary is the cardbridge program; Config its configuration file.
	Binary, Config string
	// Env is added to the environment of every cardbridge run.
	Env []string
	// A and B are the pair's sides.
	A, B Side
	// Norm gives the content both sides must agree on for a card.
	Norm func(*vcard.Card) string
	// Log gets progress lines (nil: none).
	Log io.Writer
}

func (p *Pair) logf(format string, args ...any) {
	if p.Log != nil {
		fmt.Fprintf(p.Log, format+"\n", args...)
	}
}

// Run is one `cardbridge sync` process.
type Run struct {
	// Code is the exit code (-1 when killed).
	Code int
	// Disturbed reports that the during func acted while it ran (killed
	// it, or restarted a peer).
	Disturbed bool
	// Took is how long it ran.
	Took time.Duration
	// Stdout and Stderr are what it printed.
	Stdout, Stderr string
}

// Sync runs `cardbridge sync --json` once. When during is not nil it is
// called in its own goroutine with the running process and a channel
// closed when the process ends (to kill it, or to disturb a peer); it
// returns whether it acted before the process ended.
func (p *Pair) Sync(ctx context.Context, during func(proc *os.Process, ended <-chan struct{}) bool) (Run, error) {
	cmd := exec.Command(p.Binary, "--config", p.Config, "sync", "--json")
	cmd.Env = append(os.Environ(), p.Env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Run{}, fmt.Errorf("start cardbridge sync: %w", err)
	}
	ended := make(chan struct{})
	killed := make(chan bool, 1)
	if during != nil {
		go func() { killed <- during(cmd.Process, ended) }()
	} else {
		killed <- false
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		cmd.Process.Kill()
		<-waited
		close(ended)
		<-killed
		return Run{}, fmt.Errorf("cardbridge sync: %w", ctx.Err())
	}
	took := time.Since(start)
	close(ended)
	r := Run{Took: took, Disturbed: <-killed, Stdout: so.String(), Stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		return r, fmt.Errorf("cardbridge sync: %w", err)
	}
	return r, nil
}

// waitFor waits d unless ended is closed first; it reports whether all
// of d passed.
func waitFor(d time.Duration, ended <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ended:
		return false
	case <-t.C:
		return true
	}
}

// KillAfter returns a during func that SIGKILLs the process after d,
// unless it ended first; it reports whether it killed.
func KillAfter(d time.Duration) func(*os.Process, <-chan struct{}) bool {
	return func(proc *os.Process, ended <-chan struct{}) bool {
		return waitFor(d, ended) && proc.Signal(syscall.SIGKILL) == nil
	}
}

// Snapshot is both sides listed at one moment.
type Snapshot struct {
	A, B []Item
}

// Snapshot lists both sides.
func (p *Pair) Snapshot(ctx context.Context) (Snapshot, error) {
	a, err := p.A.List(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	b, err := p.B.List(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{a, b}, nil
}

// want is what the harness expects of one contact on both sides.
type want struct {
	title string // the latest TITLE
	key   string // FN + first e-mail, for the duplicate check
}

// Model is the contacts the harness expects, by UID.
type Model map[string]want

func title(c *vcard.Card) string {
	if p, ok := c.Get("TITLE"); ok {
		return p.Value
	}
	return ""
}

func dupKey(c *vcard.Card) string {
	k := strings.ToLower(c.FN()) + "|"
	if p, ok := c.Get("EMAIL"); ok {
		k += strings.ToLower(p.Value)
	}
	return k
}

func byUID(items []Item) (map[string]Item, []string) {
	m := map[string]Item{}
	var dups []string
	for _, it := range items {
		if prev, ok := m[it.UID]; ok {
			dups = append(dups, fmt.Sprintf("UID %q twice: %s and %s", it.UID, prev.Ref, it.Ref))
			continue
		}
		m[it.UID] = it
	}
	return m, dups
}

// NewModel takes the model from a snapshot whose sides agree; it fails
// with the differences when they do not.
func (p *Pair) NewModel(s Snapshot) (Model, error) {
	m := Model{}
	for _, it := range s.A {
		m[it.UID] = want{title: title(it.Card), key: dupKey(it.Card)}
	}
	if probs := p.Check(m, s); len(probs) > 0 {
		return nil, fmt.Errorf("the sides disagree after the first sync:\n%s", strings.Join(probs, "\n"))
	}
	return m, nil
}

// Check compares a snapshot with the model: every expected contact on
// both sides with the same content and the latest edit, nothing else, no
// UID twice, no FN+EMAIL more often than expected. It returns the
// problems found (none: converged).
func (p *Pair) Check(m Model, s Snapshot) []string {
	var probs []string
	sides := []struct {
		name  string
		items []Item
	}{{"a (" + p.A.Name() + ")", s.A}, {"b (" + p.B.Name() + ")", s.B}}
	idx := make([]map[string]Item, 2)
	wantKeys := map[string]int{}
	for _, w := range m {
		wantKeys[w.key]++
	}
	for i, sd := range sides {
		var dups []string
		idx[i], dups = byUID(sd.items)
		for _, d := range dups {
			probs = append(probs, sd.name+": duplicate: "+d)
		}
		keys := map[string][]string{}
		for _, it := range sd.items {
			k := dupKey(it.Card)
			keys[k] = append(keys[k], it.Ref)
			if _, ok := m[it.UID]; !ok {
				probs = append(probs, fmt.Sprintf("%s: unexpected contact UID %q (%s, %q): deleted by the harness or never made", sd.name, it.UID, it.Ref, it.Card.FN()))
			}
		}
		for k, refs := range keys {
			if len(refs) > wantKeys[k] {
				probs = append(probs, fmt.Sprintf("%s: duplicate: FN+EMAIL %q %d times (want %d): %s", sd.name, k, len(refs), wantKeys[k], strings.Join(refs, ", ")))
			}
		}
	}
	for _, u := range slices.Sorted(maps.Keys(m)) {
		w := m[u]
		a, okA := idx[0][u]
		b, okB := idx[1][u]
		switch {
		case !okA && !okB:
			probs = append(probs, fmt.Sprintf("lost: UID %q (%s) is on neither side", u, w.key))
			continue
		case !okA:
			probs = append(probs, fmt.Sprintf("lost: UID %q (%s) missing on a", u, w.key))
			continue
		case !okB:
			probs = append(probs, fmt.Sprintf("lost: UID %q (%s) missing on b", u, w.key))
			continue
		}
		if ta, tb := title(a.Card), title(b.Card); ta != w.title || tb != w.title {
			probs = append(probs, fmt.Sprintf("stale: UID %q TITLE a=%q b=%q, want the latest edit %q", u, ta, tb, w.title))
		}
		if p.Norm(a.Card) != p.Norm(b.Card) {
			probs = append(probs, fmt.Sprintf("differ: UID %q:\n--- a %s\n%s--- b %s\n%s", u, a.Ref, a.Card.Encode(), b.Ref, b.Card.Encode()))
		}
	}
	return probs
}

// change is one edit the harness made on a side.
type change struct {
	kind  string // "edit", "create", "delete"
	onA   bool
	uid   string
	title string
}

// Work sizes one round's changes, per side.
type Work struct {
	Edits, Creates, Deletes int
}

// Mutate changes both sides as users would between two syncs — edits,
// creates and deletes of distinct contacts on each side — and updates the
// model. s is the current snapshot.
func (p *Pair) Mutate(ctx context.Context, rng *mrand.Rand, round int, m Model, s Snapshot, w Work) ([]change, error) {
	ia, _ := byUID(s.A)
	ib, _ := byUID(s.B)
	uids := make([]string, 0, len(m))
	for u := range m {
		if _, ok := ia[u]; ok {
			if _, ok := ib[u]; ok {
				uids = append(uids, u)
			}
		}
	}
	sort.Strings(uids)
	rng.Shuffle(len(uids), func(i, j int) { uids[i], uids[j] = uids[j], uids[i] })
	take := func(n int) []string {
		n = min(n, len(uids))
		out := uids[:n]
		uids = uids[n:]
		return out
	}
	var out []change
	for _, side := range []struct {
		s     Side
		idx   map[string]Item
		onA   bool
		label string
	}{{p.A, ia, true, "a"}, {p.B, ib, false, "b"}} {
		for k, u := range take(w.Edits) {
			t := fmt.Sprintf("edited r%d %s%d", round, side.label, k)
			if err := side.s.SetTitle(ctx, side.idx[u], t); err != nil {
				return out, err
			}
			m[u] = want{title: t, key: m[u].key}
			out = append(out, change{"edit", side.onA, u, t})
		}
		for _, u := range take(w.Deletes) {
			if err := side.s.Delete(ctx, side.idx[u]); err != nil {
				return out, err
			}
			delete(m, u)
			out = append(out, change{"delete", side.onA, u, ""})
		}
		for k := range w.Creates {
			c := NewContact(rng, fmt.Sprintf("crash-r%d-%s%d-%08x", round, side.label, k, rng.Uint32()), fmt.Sprintf("R%d %s%d", round, strings.ToUpper(side.label), k))
			uid, err := side.s.Create(ctx, c)
			if err != nil {
				return out, err
			}
			m[uid] = want{title: title(c), key: dupKey(c)}
			out = append(out, change{"create", side.onA, uid, title(c)})
		}
	}
	return out, nil
}

// propagated counts the changes already present on the other side.
func propagated(changes []change, s Snapshot) int {
	ia, _ := byUID(s.A)
	ib, _ := byUID(s.B)
	n := 0
	for _, c := range changes {
		other := ia
		if c.onA {
			other = ib
		}
		it, ok := other[c.uid]
		switch c.kind {
		case "edit", "create":
			if ok && title(it.Card) == c.title {
				n++
			}
		case "delete":
			if !ok {
				n++
			}
		}
	}
	return n
}

var (
	givenNames = []string{"Ada", "Bruno", "Céline", "Dario", "Elif", "Femi", "Gustav", "Hana", "Ivo", "Júlia", "Kenji", "Lotte"}
	surnames   = []string{"Abara", "Bergström", "Costa", "Dąbrowski", "Essien", "Fontaine", "Gallo", "Horvat", "Ishikawa", "Jovanović"}
)

// NewContact makes a contact with the given UID and a name that carries
// tag (so that names never collide with seeded ones).
func NewContact(rng *mrand.Rand, uid, tag string) *vcard.Card {
	c := vcard.New(vcard.V30)
	given, sur := givenNames[rng.IntN(len(givenNames))], surnames[rng.IntN(len(surnames))]
	c.SetUID(uid)
	c.SetFN(given + " " + sur + " " + tag)
	c.Add(vcard.NewStructured("N", sur+" "+tag, given, "", "", ""))
	c.Add(vcard.NewText("EMAIL", strings.ToLower(strings.ReplaceAll(uid, "_", "."))+"@crash.example"))
	c.Add(vcard.NewText("TEL", fmt.Sprintf("+41 44 %03d %02d %02d", rng.IntN(1000), rng.IntN(100), rng.IntN(100))))
	c.Add(vcard.NewStructured("ORG", "Crash Test Works"))
	c.Add(vcard.NewText("TITLE", "created "+tag))
	return c
}
