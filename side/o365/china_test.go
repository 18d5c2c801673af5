package o365_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/side/o365"
)

// TestChinaCloudListsInsteadOfDelta: the China cloud (21Vianet) has no
// v1.0 contact delta. A side told so (NoDelta, as for `cloud: china`) or
// meeting delta's refusal learns what changed from a listing of ids and
// changeKeys diffed against state: the first sync, an Outlook-side
// change, an Outlook-side delete and a no-change run all converge with no
// duplicate and no deletion, and a no-change run costs one small request
// per page of ids and changeKeys.
func TestChinaCloudListsInsteadOfDelta(t *testing.T) {
	const n = 12
	for _, tc := range []struct {
		name     string
		noDelta  bool
		pageSize int // graph.Options.MaxPageSize; 0: the default
	}{
		{"cloud china configured", true, 0},
		{"delta refused once", false, 0},
		{"pages of 5", true, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, mb := newSim(graphsim.Options{Cloud: graphsim.CloudChina, Transient412Rate: -1})
			url, tok := serveSim(t, sim, sim)
			side := openSide(t, newClient(t, url, tok, graph.Options{MaxPageSize: tc.pageSize}), o365.Options{NoDelta: tc.noDelta})
			mem := mem.New("b")
			var outlookIDs []string
			for i := range n / 2 {
				outlookIDs = append(outlookIDs, mb.Put("", []byte(fmt.Sprintf(`{"givenName":"Out","surname":"L%02d","displayName":"Out L%02d"}`, i, i))))
				mem.Put(fmt.Sprintf("v%d.vcf", i), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:v-%02d\r\nFN:Card V%02d\r\nN:V%02d;Card;;;\r\nEND:VCARD\r\n", i, i, i)))
			}
			_, run := pairRunner(t, sim, side, mem)
			pages := func(contacts int) int {
				if tc.pageSize == 0 {
					return 1
				}
				return (contacts + tc.pageSize - 1) / tc.pageSize
			}
			converged := func(what string, want int) {
				t.Helper()
				if got, gotB := mb.Count(""), len(mem.Snapshot()); got != want || gotB != want {
					t.Fatalf("%s: %d contacts in Office 365, %d vCards; want %d each", what, got, gotB, want)
				}
			}
			if res := run("first sync"); res.A.Created != n/2 || res.B.Created != n/2 || res.A.Deleted+res.B.Deleted != 0 {
				t.Fatalf("first sync: %+v", res)
			}
			converged("first sync", n)
			if res := run("no-change run"); res.A.Updated+res.B.Updated+res.A.Created+res.B.Created+res.A.Deleted+res.B.Deleted != 0 || sim.Stats().Requests != pages(n) {
				t.Fatalf("no-change run: %d requests, %+v; want %d (the pages of ids and changeKeys)", sim.Stats().Requests, res, pages(n))
			}
			mb.Put("", []byte(`{"id":"`+outlookIDs[0]+`","givenName":"Edited","surname":"L00","displayName":"Edited L00"}`))
			if res := run("Outlook-side change"); res.B.Updated != 1 || res.A.Updated+res.A.Created+res.B.Created+res.A.Deleted+res.B.Deleted != 0 {
				t.Fatalf("Outlook-side change: %+v", res)
			}
			found := false
			for _, raw := range mem.Snapshot() {
				found = found || strings.Contains(string(raw), "FN:Edited L00")
			}
			if !found {
				t.Fatal("the Outlook edit did not reach the vCards")
			}
			converged("after the Outlook-side change", n)
			mb.Delete(outlookIDs[1])
			if res := run("Outlook-side delete"); res.B.Deleted != 1 || res.A.Deleted+res.A.Created+res.B.Created+res.A.Updated+res.B.Updated != 0 {
				t.Fatalf("Outlook-side delete: %+v", res)
			}
			converged("after the Outlook-side delete", n-1)
			if res := run("no-change run 2"); res.A.Updated+res.B.Updated+res.A.Created+res.B.Created+res.A.Deleted+res.B.Deleted != 0 || sim.Stats().Requests != pages(n-1) {
				t.Fatalf("no-change run 2: %d requests, %+v", sim.Stats().Requests, res)
			}
			if st := sim.Stats(); st.Status[400] != 0 {
				t.Fatalf("a no-change run met %d refusals", st.Status[400])
			}
		})
	}
}
