package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine/resolve"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/state"
)

// conflictView is one conflict on the conflicts page: its fields in words
// with each version's values and what "Keep merged" would write.
type conflictView struct {
	state.Conflict
	Name         string // the contact's name (a's, or b's when it differs)
	NameA, NameB string // what A and B are: "Outlook", "iPhone book"
	Changed      []fieldView
	Same         []fieldView // the fields A and B agree on
	Clashes      string      // labels of the fields both sides changed differently
	Newer        string      // NameA or NameB: whose values win a clash in the merge
	HasBase      bool
	Broken       string // why the versions cannot be compared ("" when they can)
}

// fieldView is one field of a conflict, each version's values joined one
// per line.
type fieldView struct {
	Label, Base, A, B, Merged string
	MergedChanged             bool // the merge writes something else than A or than B
}

// bookTitles caches the display names of users' books for the page.
type bookTitles struct {
	h     *Handler
	books map[string]map[string]string // user -> book -> display name
}

// title is the display name of user's book, "" when it has none.
func (t *bookTitles) title(ctx context.Context, s config.Side) string {
	if s.Type != config.SideServer {
		return ""
	}
	if t.books == nil {
		t.books = map[string]map[string]string{}
	}
	m, ok := t.books[s.User]
	if !ok {
		m = map[string]string{}
		if bs, err := t.h.o.DB.AddressBooks(ctx, s.User); err == nil {
			for _, b := range bs {
				m[b.Name] = b.DisplayName
			}
		} else {
			t.h.log.Warn("web: address books for a side's name", "user", s.User, "err", err)
		}
		t.books[s.User] = m
	}
	return m[s.Addressbook]
}

// names are the names of p's sides for a person (fields.SideNames, the
// rule of the dashboard's pair line).
func (t *bookTitles) names(ctx context.Context, p config.Pair) (string, string) {
	return fields.SideNames(p.A, p.B, t.title(ctx, p.A), t.title(ctx, p.B))
}

// newConflictView explains c of pair p for the page.
func newConflictView(c state.Conflict, nameA, nameB string) conflictView {
	v := conflictView{Conflict: c, Name: fnOf(c.A), NameA: nameA, NameB: nameB}
	if n := fnOf(c.B); n != v.Name {
		v.Name += " / " + n
	}
	e, err := resolve.Explain(c)
	if err != nil {
		v.Broken = err.Error()
		return v
	}
	v.HasBase = e.HasBase
	v.Clashes = strings.Join(e.Clashes, ", ")
	v.Newer = nameA
	if e.Newer == "b" {
		v.Newer = nameB
	}
	for _, r := range e.Rows {
		f := fieldView{Label: r.Label, Base: lines(r.Base), A: lines(r.A), B: lines(r.B), Merged: lines(r.Merged)}
		if r.Differs {
			f.MergedChanged = f.Merged != f.A && f.Merged != f.B
			v.Changed = append(v.Changed, f)
		} else {
			v.Same = append(v.Same, f)
		}
	}
	return v
}

// lines joins values one per line.
func lines(vs []string) string { return strings.Join(vs, "\n") }

// conflictsPage lists the open conflicts of the user's pairs, each field
// by field.
func (h *Handler) conflictsPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	pairs, err := h.userPairs(ctx, s.User)
	if err != nil {
		h.internal(w, r, s, "listing the pairs", err)
		return
	}
	titles := &bookTitles{h: h}
	var list []conflictView
	for _, p := range pairs {
		cs, err := h.o.DB.Conflicts(ctx, p.Name, true)
		if err != nil {
			h.internal(w, r, s, "listing the conflicts", err)
			return
		}
		if len(cs) == 0 {
			continue
		}
		nameA, nameB := titles.names(ctx, p.Pair)
		for _, c := range cs {
			list = append(list, newConflictView(c, nameA, nameB))
		}
	}
	flash := ""
	if id := r.URL.Query().Get("resolved"); id != "" {
		flash = "Conflict " + id + " resolved (keeping " + r.URL.Query().Get("keep") + "): the next sync writes it to both sides."
	}
	h.render(w, http.StatusOK, "conflicts", view{Title: "Conflicts", User: s.User, CSRF: s.CSRF, Flash: flash, Section: "conflicts", Data: list})
}
