package pairs

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

// A directory refresh reads the photos of the people its users delta round
// names in $batch calls (20 to one), not one request each, and keeps the
// same photos: 45 people, a third with a photo, cost the delta round and 3
// batches (plus the token), where one request per photo took 46.
func TestDirectoryPhotosBatched(t *testing.T) {
	ctx := t.Context()
	f := newTenantFixture(t, "", 0)
	const n = 45
	for i := range n {
		f.person(fmt.Sprintf("p%02d@contoso.example", i), 0, func(u *graphsim.User) {
			if i%3 == 0 {
				u.Photo = []byte(fmt.Sprintf("\xff\xd8\xff photo of %d", i))
			}
		})
	}
	f.sim.ResetStats()
	res, skipped, err := f.r.RefreshDirectory(ctx, "org", nil)
	if err != nil || skipped {
		t.Fatalf("RefreshDirectory: %v (skipped %v)", err, skipped)
	}
	st := f.sim.Stats()
	if st.Requests > 6 || st.Batches != 3 {
		t.Errorf("%d HTTP requests (%d batches) for a %d-person directory, want at most 6 (3 batches)", st.Requests, st.Batches, n)
	}
	if res.Photos != n {
		t.Errorf("Photos = %d, want %d", res.Photos, n)
	}
	people, err := f.db.DirectoryUsers(ctx, f.tenant, state.DirectoryOptions{})
	if err != nil || len(people) != n {
		t.Fatalf("DirectoryUsers = %d, %v", len(people), err)
	}
	ids := make([]string, len(people))
	for i, p := range people {
		ids[i] = p.ObjectID
	}
	byID, err := f.db.DirectoryUsersByID(ctx, f.tenant, ids, true, "")
	if err != nil {
		t.Fatal(err)
	}
	withPhoto := 0
	for _, p := range byID {
		var i int
		fmt.Sscanf(p.UPN, "p%02d@", &i)
		want := []byte(nil)
		if i%3 == 0 {
			want = []byte(fmt.Sprintf("\xff\xd8\xff photo of %d", i))
			withPhoto++
		}
		if !bytes.Equal(p.Photo, want) {
			t.Errorf("%s: photo %q, want %q", p.UPN, p.Photo, want)
		}
	}
	if withPhoto != n/3 {
		t.Errorf("%d people with a photo, want %d", withPhoto, n/3)
	}
}
