package main

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"
)

// TestO365ChinaCloud: an account with `cloud: china` (21Vianet, no v1.0
// contact delta; graph_url pointing at a simulator of that cloud) syncs:
// the first sync, an Outlook-side change, an Outlook-side delete and a
// no-change run converge with no duplicate and no deletion, and the
// no-change run costs one Graph request (one page of ids and changeKeys).
func TestO365ChinaCloud(t *testing.T) {
	const n = 6
	sim := graphsim.New(graphsim.Options{Cloud: graphsim.CloudChina, AutoApprove: true, DeviceCodeInterval: 50 * time.Millisecond, Transient412Rate: -1})
	sim.AddApp(graphsim.App{ClientID: simClient, Secret: simSecret, PublicClient: true})
	mb := sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-0000000a11ce", UPN: alice, DisplayName: "Alice", Password: "alice"})
	mb.Seed("", n, 1)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	e := &simEnv{sim: sim, srv: srv}
	cfg, b := e.workspace(t, "client-secret", "merge")
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "    tenant: contoso.example\n", "    tenant: contoso.example\n    cloud: china\n", 1)), 0o600)
	sync := func(what string) map[string]any {
		t.Helper()
		sim.ResetStats()
		r := cb(t, simEnvVars, "--config", cfg, "sync", "--json")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", what, r.code, r.stdout, r.stderr)
		}
		m := summary(t, r)
		t.Logf("%s: %d Graph requests; %s", what, sim.Stats().GraphRequests, strings.TrimSpace(r.stdout))
		return m
	}
	counts := func(m map[string]any) (c, u, d int) {
		for _, s := range []string{"a", "b"} {
			c += sideCount(m, s, "created")
			u += sideCount(m, s, "updated")
			d += sideCount(m, s, "deleted")
		}
		return
	}
	converged := func(what string, want int) {
		t.Helper()
		if got, gotB := mb.Count(""), len(vcfFiles(t, b)); got != want || gotB != want {
			t.Fatalf("%s: %d contacts in Office 365, %d vCards; want %d each", what, got, gotB, want)
		}
	}
	if m := sync("first sync"); sideCount(m, "b", "created") != n || sideCount(m, "a", "created") != 0 {
		t.Fatalf("first sync: %v", m)
	}
	converged("first sync", n)
	if m := sync("no-change run"); sim.Stats().GraphRequests != 1 {
		t.Fatalf("no-change run: %d Graph requests, want 1 (a page of ids and changeKeys): %v", sim.Stats().GraphRequests, m)
	} else if c, u, d := counts(m); c+u+d != 0 {
		t.Fatalf("no-change run: %v", m)
	}
	ids := mb.ContactIDs("")
	mb.Put("", []byte(`{"id":"`+ids[0]+`","givenName":"Edited","surname":"InChina","displayName":"Edited InChina"}`))
	if m := sync("Outlook-side change"); sideCount(m, "b", "updated") != 1 {
		t.Fatalf("Outlook-side change: %v", m)
	} else if c, u, d := counts(m); c+d != 0 || u != 1 {
		t.Fatalf("Outlook-side change: %v", m)
	}
	if !anyCardHas(t, b, "FN:Edited InChina") {
		t.Fatal("the Outlook edit did not reach the vdir")
	}
	converged("after the Outlook-side change", n)
	mb.Delete(ids[1])
	if m := sync("Outlook-side delete"); sideCount(m, "b", "deleted") != 1 {
		t.Fatalf("Outlook-side delete: %v", m)
	} else if c, u, d := counts(m); c+u != 0 || d != 1 {
		t.Fatalf("Outlook-side delete: %v", m)
	}
	converged("after the Outlook-side delete", n-1)
	if m := sync("no-change run 2"); sim.Stats().GraphRequests != 1 {
		t.Fatalf("no-change run 2: %d Graph requests: %v", sim.Stats().GraphRequests, m)
	} else if c, u, d := counts(m); c+u+d != 0 {
		t.Fatalf("no-change run 2: %v", m)
	}
}
