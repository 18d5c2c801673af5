package o365_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/side/o365"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/vcard"
)

func photoCard(uid, name string, photo []byte) []byte {
	return []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nN:%s;;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:%s\r\nEND:VCARD\r\n",
		uid, name, name, base64.StdEncoding.EncodeToString(photo)))
}

// TestPhotoWriteKeepsVersionCurrent: a photo upload changes the
// contact's changeKey (Exchange keeps the photo as an attachment), so the
// state must hold the key Graph has after the upload. Otherwise the next
// run reads every such contact again, and a write with the stale key
// meets 412. An Outlook-side photo change is picked up on the next run.
func TestPhotoWriteKeepsVersionCurrent(t *testing.T) {
	const n = 5
	side, sim := simSide(t, graphsim.Options{Transient412Rate: -1}) // requests and 412s counted exactly
	mb := sim.Mailbox(testUser)
	mem := mem.New("b")
	for i := range n {
		mem.Put(fmt.Sprintf("p%d.vcf", i), photoCard(fmt.Sprintf("photo-%d", i), fmt.Sprintf("Photo%d", i), testutil.JPEG(t, uint8(10*i))))
	}
	db, run := pairRunner(t, sim, side, mem)
	if res := run("export"); res.A.Created != n {
		t.Fatalf("export: %+v", res)
	}
	checkVersions := func(what string) {
		t.Helper()
		items, err := db.Items(context.Background(), "p")
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			raw, ok := mb.Get(it.AID)
			if !ok {
				t.Fatalf("%s: %s is not in Office 365", what, it.AID)
			}
			if !bytes.Contains(raw, []byte(`"changeKey":"`+it.AVersion+`"`)) {
				t.Errorf("%s: state holds changeKey %q for %s, Graph has %s", what, it.AVersion, it.UID, raw[bytes.Index(raw, []byte(`"changeKey"`)):][:40])
			}
		}
	}
	checkVersions("after the export")
	// Nothing changed: one delta request, nothing read again.
	if res := run("no-change run"); res.A.Updated+res.B.Updated != 0 || sim.Stats().Requests != 1 {
		t.Fatalf("no-change run after photo uploads: %d requests, %+v; want 1 (the delta round)", sim.Stats().Requests, res)
	}
	// A new photo from b: the PATCH carries the key the state holds; no 412.
	mem.Put("p0.vcf", photoCard("photo-0", "Photo0 Renamed", testutil.JPEG(t, 200)))
	if res := run("photo change on b"); res.A.Updated != 1 || res.Conflicts != 0 || sim.Stats().Status[412] != 0 {
		t.Fatalf("photo change on b: %+v, %d answers 412", res, sim.Stats().Status[412])
	}
	checkVersions("after the photo update")
	if res := run("no-change run 2"); sim.Stats().Requests != 1 || res.A.Updated+res.B.Updated != 0 {
		t.Fatalf("no-change run after a photo update: %d requests, %+v", sim.Stats().Requests, res)
	}
	// A photo changed in Outlook reaches b on the next run.
	items, _ := db.Items(context.Background(), "p")
	outlook := testutil.JPEG(t, 120)
	mb.SetPhoto(items[1].AID, outlook)
	if res := run("photo change in Outlook"); res.B.Updated != 1 {
		t.Fatalf("photo change in Outlook: %+v", res)
	}
	raw, _ := mem.Raw(items[1].BID)
	card, err := vcard.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := card.Get("PHOTO")
	if got, _ := base64.StdEncoding.DecodeString(p.Value); !bytes.Equal(got, outlook) {
		t.Fatalf("b's photo is not the one set in Outlook: %s", raw)
	}
	checkVersions("after the Outlook photo change")
}

// warnCounter counts the warnings logged through it.
type warnCounter struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnCounter) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, r.Message)
	return nil
}
func (w *warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnCounter) WithGroup(string) slog.Handler      { return w }
func (w *warnCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.msgs)
}

// TestPersonalAccountSkipsPhotoWrites: a personal Microsoft account cannot
// take contact photos. The photo is skipped with one warning for the
// account, remembered in state, the rest of the contact syncs, the run is
// OK (the delta token advances) and later runs neither PATCH the contact
// again nor try the photo again.
func TestPersonalAccountSkipsPhotoWrites(t *testing.T) {
	sim, mb := newSim(graphsim.Options{Transient412Rate: -1}) // requests counted exactly
	mb.SetPersonal(true)
	var photoWrites atomic.Int32
	url, tok := serveSim(t, sim, countPhotoPuts(sim, &photoWrites))
	db := tempState(t)
	warns := &warnCounter{}
	open := func() engine.Side {
		return openSide(t, newClient(t, url, tok, graph.Options{}), o365.Options{Account: "home", Memory: db, Logger: slog.New(warns)})
	}
	mem := mem.New("b")
	for i := range 3 {
		mem.Put(fmt.Sprintf("p%d.vcf", i), photoCard(fmt.Sprintf("msa-%d", i), fmt.Sprintf("Msa%d", i), testutil.JPEG(t, uint8(30*i))))
	}
	side := open()
	run := func(what string, a engine.Side) *engine.Result {
		t.Helper()
		sim.ResetStats()
		res, err := engine.New(db, nil).Run(context.Background(), engine.Pair{Name: "p", A: a, B: mem, Direction: engine.TwoWay, Policy: engine.PolicyMerge}, engine.Options{})
		if err != nil || len(res.Errors) > 0 {
			t.Fatalf("%s: %v %+v", what, err, res)
		}
		return res
	}
	if res := run("export", side); res.A.Created != 3 {
		t.Fatalf("export: %+v", res)
	}
	if n := mb.Count(""); n != 3 {
		t.Fatalf("Office 365 holds %d contacts, want 3", n)
	}
	for _, id := range mb.ContactIDs("") {
		raw, _ := mb.Get(id)
		if !strings.Contains(string(raw), `"surname":"Msa`) {
			t.Errorf("the rest of the contact did not sync: %s", raw)
		}
	}
	if warns.count() != 1 {
		t.Fatalf("%d warnings, want 1 for the account: %q", warns.count(), warns.msgs)
	}
	if f, _ := db.RefusedFields(context.Background(), "home"); len(f) != 1 || f[0] != "photo" {
		t.Fatalf("state remembers %q, want [photo]", f)
	}
	if tk, _ := db.Token(context.Background(), "p", "a"); tk == "" {
		t.Fatal("the delta token did not advance")
	}
	tried := photoWrites.Load()
	// The same side again, and a fresh one (another run of cardbridge).
	for _, a := range []engine.Side{side, open()} {
		if res := run("rerun", a); res.A.Updated+res.B.Updated+res.A.Created+res.B.Created != 0 {
			t.Fatalf("rerun wrote: %+v", res)
		}
		if w := sim.Stats().PerMailbox[testUser].Writes; w != 0 || sim.Stats().Requests != 1 {
			t.Fatalf("rerun: %d writes, %d requests; want 0 and 1 (the delta round)", w, sim.Stats().Requests)
		}
	}
	// A change of another field still syncs, without a photo attempt.
	mem.Put("p0.vcf", photoCard("msa-0", "Msa0 Changed", testutil.JPEG(t, 0)))
	if res := run("edit", open()); res.A.Updated != 1 {
		t.Fatalf("edit: %+v", res)
	}
	if photoWrites.Load() != tried || warns.count() != 1 {
		t.Fatalf("photo writes tried again (%d → %d) or warned again (%d)", tried, photoWrites.Load(), warns.count())
	}
}
