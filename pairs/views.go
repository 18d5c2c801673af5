package pairs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/resolve"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// This file holds the views of the CLI's --json output (the JSON
// contract of docs/design.md): their shapes and how they are built from
// the engine's and the state's values. The CLI only encodes them.

// JSONTime is the text of t in JSON output (RFC 3339, UTC), "" when t is
// zero so that omitempty leaves it out.
func JSONTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// CardName is the display name (FN) of a vCard as it is; "" when the card
// does not parse.
func CardName(raw []byte) string {
	c, err := vcard.Parse(raw)
	if err != nil {
		return ""
	}
	return c.FN()
}

// SyncItem is one skipped item or one error of `sync --json`
// (skipped_items, error_items): which pair and side, the item's id there
// (a vdir's file name, a CardDAV href, an Office 365 contact id), its
// display name and UID when known, and why. Errors that are not one
// item's name the trash entry or conflict they are about instead.
type SyncItem struct {
	Pair       string `json:"pair"`
	Side       string `json:"side"`
	ID         string `json:"id"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	Op         string `json:"op,omitempty"`
	TrashID    int64  `json:"trash_id,omitempty"`
	ConflictID int64  `json:"conflict_id,omitempty"`
	Reason     string `json:"reason"`
}

// SkippedItems lists the skipped items of res.
func SkippedItems(res *engine.Result) []SyncItem {
	out := make([]SyncItem, 0, len(res.Skipped))
	for _, s := range res.Skipped {
		out = append(out, SyncItem{Pair: res.Pair, Side: s.Side.String(), ID: s.ID, Name: s.Name, UID: s.UID, Reason: s.Reason})
	}
	return out
}

// ErrorItems lists the errors of res, each with what its type knows.
func ErrorItems(res *engine.Result) []SyncItem {
	out := make([]SyncItem, 0, len(res.Errors))
	for _, err := range res.Errors {
		it := SyncItem{Pair: res.Pair, Reason: err.Error()}
		var ie *engine.ItemError
		var re *engine.RestoreError
		var ce *engine.ResolutionError
		switch {
		case errors.As(err, &ie):
			it.UID, it.Name, it.Reason = ie.UID, ie.Name, fmt.Sprint(ie.Err)
			if ie.Op != engine.OpNone {
				it.Side, it.ID, it.Op = ie.Side.String(), ie.ID, ie.Op.String()
			}
		case errors.As(err, &re):
			it.TrashID, it.Reason = re.TrashID, fmt.Sprint(re.Err)
		case errors.As(err, &ce):
			it.ConflictID = ce.ConflictID
		}
		out = append(out, it)
	}
	return out
}

// SyncReport is the line of `sync --json` for res: the summary's
// documented keys (engine.Result.MarshalSummary, the runs table's form)
// followed by skipped_items and error_items, and, unless at is zero
// (--every), "time": at in RFC 3339 in at's zone.
func SyncReport(res *engine.Result, at time.Time) ([]byte, error) {
	line, err := res.MarshalSummary()
	if err != nil {
		return nil, err
	}
	var stamp string
	if !at.IsZero() {
		stamp = at.Format(time.RFC3339)
	}
	items, err := json.Marshal(struct {
		Skipped []SyncItem `json:"skipped_items"`
		Errors  []SyncItem `json:"error_items"`
		Time    string     `json:"time,omitempty"`
	}{SkippedItems(res), ErrorItems(res), stamp})
	if err != nil {
		return nil, err
	}
	// Both are objects: join them, the summary's keys first.
	line = bytes.TrimSuffix(line, []byte("}"))
	return append(append(line, ','), items[1:]...), nil
}

// ConflictView is a conflict in `conflicts list --json` (without the
// versions) and `conflicts show ID --json` (with them).
type ConflictView struct {
	ID      int64  `json:"id"`
	Pair    string `json:"pair"`
	UID     string `json:"uid"`
	Name    string `json:"name"`
	Created string `json:"created"`
	// Keep is "" while open, else the resolution waiting for the next sync.
	Keep string `json:"keep,omitempty"`

	A    *string `json:"a,omitempty"`    // side a's vCard
	B    *string `json:"b,omitempty"`    // side b's vCard
	Base *string `json:"base,omitempty"` // the last synced version ("" for none)
	// Fields are the versions field by field in words, with what keeping
	// "merged" writes (resolve.Explain); Clashes the labels of the fields
	// both sides changed differently; Newer the side whose values the
	// merge takes there.
	Fields  []FieldView `json:"fields,omitempty"`
	Clashes []string    `json:"clashes,omitempty"`
	Newer   string      `json:"newer,omitempty"`
}

// FieldView is one field of a conflict (fields.Row).
type FieldView struct {
	Label   string   `json:"label"`
	Base    []string `json:"base"`
	A       []string `json:"a"`
	B       []string `json:"b"`
	Merged  []string `json:"merged"`
	Differs bool     `json:"differs"`
}

// NewConflictView is c as listed: named by a's display name (b's when a's
// has none), without the versions.
func NewConflictView(c state.Conflict) ConflictView {
	name := CardName(c.A)
	if name == "" {
		name = CardName(c.B)
	}
	return ConflictView{ID: c.ID, Pair: c.Pair, UID: c.UID, Name: name, Created: JSONTime(c.Created), Keep: c.Keep}
}

// ConflictViews is cs as listed (never nil: JSON [] for none).
func ConflictViews(cs []state.Conflict) []ConflictView {
	out := make([]ConflictView, 0, len(cs))
	for _, c := range cs {
		out = append(out, NewConflictView(c))
	}
	return out
}

// ConflictDetail is c as shown (`conflicts show ID --json`): with its
// versions and, when both parse, the fields in words (resolve.Explain).
func ConflictDetail(c state.Conflict) ConflictView {
	out := NewConflictView(c)
	ca, cb, base := string(c.A), string(c.B), string(c.Base)
	out.A, out.B, out.Base = &ca, &cb, &base
	if e, err := resolve.Explain(c); err == nil {
		for _, r := range e.Rows {
			out.Fields = append(out.Fields, FieldView{Label: r.Label, Base: orEmpty(r.Base), A: orEmpty(r.A), B: orEmpty(r.B), Merged: orEmpty(r.Merged), Differs: r.Differs})
		}
		out.Clashes, out.Newer = e.Clashes, e.Newer
	}
	return out
}

// orEmpty is vs, or an empty list for none (JSON [] rather than null).
func orEmpty(vs []string) []string {
	if vs == nil {
		return []string{}
	}
	return vs
}

// AccountView is one account of `accounts --json`: never a token, only
// what `accounts` shows.
type AccountView struct {
	Name       string `json:"name"`
	User       string `json:"user"`
	Tenant     string `json:"tenant"`
	Flow       string `json:"flow"`
	SignedIn   bool   `json:"signed_in"`
	Refresh    bool   `json:"refreshable"`
	Expiry     string `json:"token_expiry,omitempty"`
	LastSync   string `json:"last_sync,omitempty"`
	Configured bool   `json:"configured"`
	Owner      string `json:"owner,omitempty"` // the server user who connected it on the web page
}

// AccountViews is infos as `accounts --json` shows them: the signed-in
// user when a token names one, else the configured one.
func AccountViews(infos []AccountInfo) []AccountView {
	out := make([]AccountView, 0, len(infos))
	for _, in := range infos {
		j := AccountView{Name: in.Account.Name, User: in.Account.User, Tenant: in.Account.Tenant, Flow: in.Account.Flow,
			SignedIn: in.HasToken, Configured: in.Configured, Owner: in.Owner}
		if in.HasToken {
			if in.Token.User != "" {
				j.User = in.Token.User
			}
			j.Refresh, j.Expiry, j.LastSync = in.Token.HasRefreshToken, JSONTime(in.Token.Expiry), JSONTime(in.Token.LastSync)
		}
		out = append(out, j)
	}
	return out
}

// UserView is one user of `user list --json`.
type UserView struct {
	Name    string     `json:"name"`
	Created string     `json:"created"`
	Books   []BookView `json:"address_books"`
}

// BookView is one address book of a user.
type BookView struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	// ReadOnly: the book is kept by the system (the organisation
	// directory); clients and pairs cannot write to it.
	ReadOnly bool `json:"read_only"`
}

// UserViews lists the built-in server's users with their address books.
func (r *Runner) UserViews(ctx context.Context) ([]UserView, error) {
	db := r.o.DB
	us, err := db.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserView, 0, len(us))
	for _, u := range us {
		bs, err := db.AddressBooks(ctx, u.Name)
		if err != nil {
			return nil, err
		}
		j := UserView{Name: u.Name, Created: JSONTime(u.Created), Books: make([]BookView, 0, len(bs))}
		for _, b := range bs {
			j.Books = append(j.Books, BookView{Name: b.Name, DisplayName: b.DisplayName, ReadOnly: b.ReadOnly})
		}
		out = append(out, j)
	}
	return out, nil
}

// TrashView is one entry of `trash list --json`.
type TrashView struct {
	ID       int64  `json:"id"`
	Pair     string `json:"pair"`
	Side     string `json:"side"`
	SideID   string `json:"side_id"`
	UID      string `json:"uid"`
	Name     string `json:"name"`
	Reason   string `json:"reason"`
	Created  string `json:"created"`
	Restore  bool   `json:"restore_requested"`
	Restored string `json:"restored,omitempty"`
}

// TrashViews is es as `trash list --json` shows them (never nil).
func TrashViews(es []state.TrashEntry) []TrashView {
	out := make([]TrashView, 0, len(es))
	for _, e := range es {
		out = append(out, TrashView{ID: e.ID, Pair: e.Pair, Side: e.Side, SideID: e.SideID, UID: e.UID, Name: CardName(e.Card), Reason: e.Reason,
			Created: JSONTime(e.Created), Restore: e.RestoreRequested, Restored: JSONTime(e.Restored)})
	}
	return out
}

// ConflictSideNames names the sides of c's pair by what they are
// (fields.SideNames: "Office 365", the book's title, "folder NAME"); "A"
// and "B" when the pair is no longer configured.
func (r *Runner) ConflictSideNames(ctx context.Context, c state.Conflict) (string, string) {
	cfg, _, err := r.Pairs(ctx)
	if err != nil {
		return "A", "B"
	}
	p, ok := cfg.Pairs[c.Pair]
	if !ok {
		return "A", "B"
	}
	title := func(s config.Side) string {
		if s.Type != config.SideServer {
			return ""
		}
		b, err := r.o.DB.AddressBook(ctx, s.User, s.Addressbook)
		if err != nil {
			return ""
		}
		return b.DisplayName
	}
	return fields.SideNames(p.A, p.B, title(p.A), title(p.B))
}

// ConflictText is what `conflicts show` writes of c (fields.ConflictText):
// its sides named (ConflictSideNames) and its versions compared
// (resolve.Explain).
func (r *Runner) ConflictText(ctx context.Context, c state.Conflict) fields.Conflict {
	nameA, nameB := r.ConflictSideNames(ctx, c)
	e, err := resolve.Explain(c)
	return fields.Conflict{ID: c.ID, Pair: c.Pair, Created: c.Created.Local(), Keep: c.Keep, A: c.A, B: c.B, NameA: nameA, NameB: nameB,
		Rows: e.Rows, Clashes: e.Clashes, Newer: e.Newer, HasBase: e.HasBase, Err: err}
}
