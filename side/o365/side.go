package o365

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/vcard"
	"github.com/google/uuid"
)

var (
	_ engine.Side        = (*Side)(nil)
	_ engine.Changer     = (*Side)(nil)
	_ engine.Projector   = (*Side)(nil)
	_ engine.Concurrency = (*Side)(nil)
	_ engine.Closer      = (*Side)(nil)
	_ engine.Identifier  = (*Side)(nil)
)

// Options configure an Office 365 side.
type Options struct {
	// Client is the Graph client of the account's mailbox.
	Client *graph.Client
	// Folder is the contact folder's display name ("Parent/Child" for a
	// nested one); "" or "Contacts" is the default folder.
	Folder string
	// NoPhotos skips reading photos (writing them still happens).
	NoPhotos bool
	// Target names, in the side's identity, the cloud, tenant and
	// mailbox the client acts for (the caller knows them from the
	// account's configuration); "" names the client's mailbox.
	Target string
	// Account is the configured account's name, under which Memory keeps
	// what the account refuses for good.
	Account string
	// User is the account's user (UPN) from its configuration, named in
	// errors as the mailbox when the client acts for "me"; "" says
	// "signed-in user" there.
	User string
	// Memory remembers, across runs, the fields the account refuses to
	// write (contact photos on a personal Microsoft account); nil keeps
	// them for the side's life only. *state.DB is one.
	Memory Memory
	// NoDelta: the account's cloud has no v1.0 contact delta (China,
	// operated by 21Vianet); Changes lists ids and changeKeys instead.
	// A side without it that meets delta's refusal switches too.
	NoDelta bool
	Logger  *slog.Logger
}

// Memory keeps the fields an account refuses to write for good.
type Memory interface {
	// RefusedFields returns the fields recorded for account.
	RefusedFields(ctx context.Context, account string) ([]string, error)
	// AddRefusedField records one and reports whether it was new.
	AddRefusedField(ctx context.Context, account, field string) (bool, error)
}

// Side is one Office 365 contact folder as a sync side: delta rounds for
// changes, $batch for writes, the vCard UID in an extended property.
type Side struct {
	c        *graph.Client
	folderID string // "" for the default folder
	folder   string
	target   string // Options.Target
	noPhotos bool
	log      *slog.Logger
	batch    *batcher
	account  string
	user     string // Options.User
	memory   Memory

	mu sync.Mutex
	// listed holds the contacts of the last full listing (they carry the
	// UID property), so Get need not read them again.
	listed map[string]api.Contact
	// photos remembers the hash of each contact's photo as last read or
	// written, so a photo is uploaded only when it changed.
	photos map[string]string
	// names holds each contact's display name as last listed, read or
	// written, so errors about a contact known only by its id name it.
	names map[string]string
	// zoneRead: the mailbox's time zone was asked for (zone, nil when
	// it could not be had); see zoneFor.
	zoneMu   sync.Mutex
	zoneRead bool
	zone     *time.Location
	// photosRefused: the account refuses contact photo writes for good
	// (a personal Microsoft account); photos are not written and not
	// projected, so their absence here is no change.
	photosRefused bool
	// noDelta: contact delta is unavailable (Options.NoDelta, or delta
	// was refused once); see listChanges.
	noDelta bool
}

// listingToken is the change token of a side without contact delta: it
// says a full round was done, so later rounds need only ids and
// changeKeys (the engine diffs them against state).
const listingToken = "o365-listing"

// fieldPhoto is the name under which Memory records refused photo writes.
const fieldPhoto = "photo"

// New opens the folder named in o (looked up among the mailbox's contact
// folders) as a side.
func New(ctx context.Context, o Options) (*Side, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Side{c: o.Client, folder: o.Folder, noPhotos: o.NoPhotos, log: log, target: o.Target,
		account: o.Account, user: o.User, memory: o.Memory, noDelta: o.NoDelta,
		listed: map[string]api.Contact{}, photos: map[string]string{}, names: map[string]string{}}
	if s.memory != nil {
		refused, err := s.memory.RefusedFields(ctx, s.account)
		if err != nil {
			return nil, fmt.Errorf("o365: account %s: %w", s.account, err)
		}
		s.photosRefused = slices.Contains(refused, fieldPhoto)
	}
	if f := strings.Trim(o.Folder, "/"); f != "" && !strings.EqualFold(f, "Contacts") {
		folders, err := o.Client.Folders(ctx)
		if err != nil {
			return nil, fmt.Errorf("o365: listing contact folders of %s: %w", o.Client.Mailbox(), err)
		}
		var names []string
		for _, fd := range folders {
			if strings.EqualFold(fd.DisplayName, f) {
				s.folderID = fd.ID
			}
			names = append(names, fd.DisplayName)
		}
		if s.folderID == "" {
			return nil, fmt.Errorf("o365: mailbox %s has no contact folder %q (it has: Contacts (default)%s)", o.Client.Mailbox(), f, prefixed(names))
		}
	}
	s.batch = newBatcher(o.Client)
	return s, nil
}

func prefixed(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return ", " + strings.Join(names, ", ")
}

// Name describes the side: "o365 MAILBOX/FOLDER".
func (s *Side) Name() string {
	f := s.folder
	if s.folderID == "" {
		f = "Contacts"
	}
	return "o365 " + s.c.Mailbox() + "/" + f
}

// Identity is "o365 TARGET folder ID": Options.Target (else the
// client's mailbox) and the id New resolved the folder to ("default" for
// the default folder), so that renaming a folder keeps its identity. It
// never fails.
func (s *Side) Identity(context.Context) (string, error) {
	acc, f := s.target, s.folderID
	if acc == "" {
		acc = "mailbox " + s.c.Mailbox()
	}
	if f == "" {
		f = "default"
	}
	return "o365 " + acc + " folder " + f, nil
}

// Close stops the side's batcher. The side must not be used afterwards.
func (s *Side) Close() error {
	s.batch.close()
	return nil
}

// WriteConcurrency asks the engine for two batches' worth of writes in
// flight, so the batcher can fill its $batch requests.
func (s *Side) WriteConcurrency() int { return 2 * api.MaxBatch }

// Project returns what Office 365 can hold of card: without the photo on
// an account that refuses photo writes.
func (s *Side) Project(card *vcard.Card) *vcard.Card {
	p := Project(card)
	if s.refusesPhotos() {
		p.Props = slices.DeleteFunc(p.Props, func(pr vcard.Property) bool { return strings.EqualFold(pr.Name, "PHOTO") })
	}
	return p
}

func (s *Side) refusesPhotos() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.photosRefused
}

// photoRefusedForGood tells a photo write the account can never make
// (contact photos on a personal Microsoft account: "Delegated (personal
// Microsoft account): Not supported") from a problem of this photo (not
// an image, too large) or a passing one (throttling, 5xx, a conflict).
func photoRefusedForGood(err error) bool {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return false
	}
	switch ge.Status {
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	case http.StatusBadRequest, http.StatusForbidden:
		switch strings.ToLower(ge.Code) {
		case "badrequest", "notsupported", "errornotsupported", "erroraccessdenied", "accessdenied", "errorinvalidoperation":
			return true
		}
	}
	return false
}

// refusePhotos records that the account refuses photo writes: in Memory
// for later runs, with one warning per account (none when another side
// of the account recorded it first).
func (s *Side) refusePhotos(ctx context.Context, cause error) {
	s.mu.Lock()
	already := s.photosRefused
	s.photosRefused = true
	s.mu.Unlock()
	if already {
		return
	}
	added := true
	if s.memory != nil {
		var err error
		if added, err = s.memory.AddRefusedField(ctx, s.account, fieldPhoto); err != nil {
			s.log.Warn("o365: could not remember that the account refuses contact photos; the next run tries once more",
				"account", s.account, "err", err)
			added = true
		}
	}
	if added {
		s.log.Warn("o365: this account cannot take contact photos (a personal Microsoft account?): photos are no longer written to it, the rest of each contact still syncs",
			"account", s.account, "mailbox", s.c.Mailbox(), "err", cause)
	}
}

func (s *Side) contactsPath() string { return s.c.FolderPath(s.folderID) }

func (s *Side) itemPath(id string) string { return s.contactsPath() + "/" + url.PathEscape(id) }

// uidExpand is the query that reads a contact with its UID property.
var uidExpand = "$expand=" + api.ExpandProperties

// List reads every contact of the folder (with their UIDs, kept for Get).
// An error names the account and mailbox.
func (s *Side) List(ctx context.Context) ([]engine.Ref, error) {
	refs, err := s.list(ctx)
	return refs, s.mailboxErr("listing the contacts", err)
}

// list is List without the account and mailbox in its error.
func (s *Side) list(ctx context.Context) ([]engine.Ref, error) {
	cs, err := s.c.ListContacts(ctx, s.folderID)
	if err != nil {
		return nil, err
	}
	refs := make([]engine.Ref, 0, len(cs))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.listed[c.ID] = c
		s.noteName(c.ID, deref(c.DisplayName))
		refs = append(refs, engine.Ref{ID: c.ID, Version: c.ChangeKey})
	}
	return refs, nil
}

// Changes runs one delta round of the folder. A token Graph no longer
// accepts (410) gives engine.ErrTokenExpired; the engine then asks for a
// full round (token "") and reconciles it with state. A full round also
// lists the folder with the UID property, so new contacts need not be
// read one by one.
//
// Where contact delta is unavailable (the China cloud) it lists instead:
// see listChanges. An error names the account and mailbox, and is
// engine.ErrTokenExpired for a token Graph no longer knows.
func (s *Side) Changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	cs, err := s.changes(ctx, token)
	return cs, s.mailboxErr("reading changes", err)
}

// changes is Changes without the account and mailbox in its error.
func (s *Side) changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	s.mu.Lock()
	noDelta := s.noDelta
	s.mu.Unlock()
	if noDelta {
		return s.listChanges(ctx, token)
	}
	if token == listingToken {
		token = "" // listed last time, delta is available now: a full round
	}
	// A full round also lists the folder with the UID property (delta
	// cannot expand it), at the same time as the delta round.
	var listErr error
	var listed sync.WaitGroup
	if token == "" {
		listed.Add(1)
		go func() {
			defer listed.Done()
			_, listErr = s.list(ctx)
		}()
	}
	items, link, err := s.c.Delta(ctx, s.folderID, token, []string{"id", "changeKey"})
	listed.Wait()
	if err == nil {
		err = listErr
	}
	if err != nil {
		if graph.IsGone(err) {
			return engine.ChangeSet{}, fmt.Errorf("%w: %v", engine.ErrTokenExpired, err)
		}
		if isMalformedID(err) && !errors.Is(listErr, err) {
			// "delta" read as a contact id: the cloud has no v1.0 contact
			// delta (21Vianet answers so). List from now on.
			s.log.Warn("o365: contact delta is unavailable in this cloud (set cloud: china for this account); listing ids and changeKeys instead", "account", s.account, "mailbox", s.c.Mailbox(), "err", err)
			s.mu.Lock()
			s.noDelta = true
			s.mu.Unlock()
			return s.listChanges(ctx, "")
		}
		return engine.ChangeSet{}, err
	}
	// Replays and duplicates inside a round: the last word on an id wins.
	changed := map[string]string{}
	deleted := map[string]bool{}
	var order []string
	for _, raw := range items {
		var c api.Contact
		if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
			return engine.ChangeSet{}, fmt.Errorf("o365: delta: unreadable entry: %v", err)
		}
		if _, seen := changed[c.ID]; !seen && !deleted[c.ID] {
			order = append(order, c.ID)
		}
		if c.Removed != nil {
			delete(changed, c.ID)
			deleted[c.ID] = true
			continue
		}
		delete(deleted, c.ID)
		changed[c.ID] = c.ChangeKey
	}
	cs := engine.ChangeSet{Full: token == "", Token: link}
	for _, id := range order {
		if ck, ok := changed[id]; ok {
			cs.Changed = append(cs.Changed, engine.Ref{ID: id, Version: ck})
		} else if deleted[id] {
			cs.Deleted = append(cs.Deleted, id)
		}
	}
	return cs, nil
}

// listChanges is Changes where contact delta is unavailable: a full
// round (token "") lists the folder with the UID property, like List;
// later rounds (token listingToken) list only ids and changeKeys, one
// small request per page, and the engine reads what differs from state.
// Either way the set is Full: a contact in state but not listed was
// deleted in Outlook.
func (s *Side) listChanges(ctx context.Context, token string) (engine.ChangeSet, error) {
	var refs []engine.Ref
	if token != listingToken {
		var err error
		if refs, err = s.list(ctx); err != nil {
			return engine.ChangeSet{}, err
		}
	} else {
		cs, err := s.c.ListVersions(ctx, s.folderID)
		if err != nil {
			return engine.ChangeSet{}, err
		}
		refs = make([]engine.Ref, 0, len(cs))
		for _, c := range cs {
			if c.ID == "" {
				return engine.ChangeSet{}, fmt.Errorf("o365: listing %s: a contact without id", s.Name())
			}
			refs = append(refs, engine.Ref{ID: c.ID, Version: c.ChangeKey})
		}
	}
	return engine.ChangeSet{Full: true, Changed: refs, Token: listingToken}, nil
}

// Get reads contacts (with their UID property and photo).
func (s *Side) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	out := make([]engine.Item, len(ids))
	contacts := make([]api.Contact, len(ids))
	var ops []graph.Op
	var opIx []int
	s.mu.Lock()
	for i, id := range ids {
		if c, ok := s.listed[id]; ok {
			contacts[i] = c
			delete(s.listed, id)
			continue
		}
		ops = append(ops, graph.Op{Method: http.MethodGet, Path: s.itemPath(id) + "?" + uidExpand})
		opIx = append(opIx, i)
	}
	s.mu.Unlock()
	for k, r := range s.c.Batch(ctx, ops) {
		i := opIx[k]
		if r.Err != nil {
			if graph.IsNotFound(r.Err) || isMalformedID(r.Err) {
				out[i].Err = s.contactErr("read", ids[i], "", fmt.Errorf("%w: %w", engine.ErrNotFound, r.Err))
			} else {
				out[i].Err = s.contactErr("read", ids[i], "", r.Err)
			}
			continue
		}
		if err := json.Unmarshal(r.Body, &contacts[i]); err != nil {
			out[i].Err = s.contactErr("read", ids[i], "", fmt.Errorf("unreadable answer: %w", err))
		}
	}
	loc := s.zoneFor(ctx, contacts, out)
	photos := make([][]byte, len(ids))
	if !s.noPhotos {
		var pops []graph.Op
		var pix []int
		for i := range ids {
			if out[i].Err == nil {
				pops = append(pops, graph.Op{Method: http.MethodGet, Path: s.itemPath(ids[i]) + "/photo/$value"})
				pix = append(pix, i)
			}
		}
		for k, r := range s.c.Batch(ctx, pops) {
			i := pix[k]
			switch {
			case r.Err == nil:
				photos[i] = r.Body
			case graph.IsNotFound(r.Err):
			default:
				out[i].Err = s.contactErr("photo", ids[i], deref(contacts[i].DisplayName), r.Err)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, id := range ids {
		if out[i].Err != nil {
			out[i].Ref.ID = id
			continue
		}
		c := contacts[i]
		s.noteName(id, deref(c.DisplayName))
		out[i].Ref = engine.Ref{ID: id, Version: c.ChangeKey}
		out[i].Card = ToVCardIn(c, photos[i], loc)
		if out[i].Card.UID() == "" {
			// Made in Outlook: no UID property yet. A UID derived from the
			// immutable id is stable across runs and lost state files, so
			// it needs no write back to Office 365 to stay matched.
			out[i].Card.SetUID(DerivedUID(id))
		}
		if t, err := time.Parse(time.RFC3339, c.LastModifiedDateTime); err == nil {
			out[i].ModTime = t
		}
		s.photos[id] = photoHash(photos[i])
	}
	return out, nil
}

// zoneFor returns the mailbox's time zone when one of the contacts read
// (those without an error in out) has a birthday that may be a local
// midnight of Outlook's (a time of day other than 00:00 and 12:00 UTC),
// nil otherwise. The zone is read once per side, from
// mailboxSettings?$select=timeZone; that needs MailboxSettings.Read, and
// without it (or any other failure) birthdays are read as the nearest UTC
// day, which is right from UTC−11 to UTC+11. A refused permission (403) is
// said once per side at Info, naming the account and the permission.
func (s *Side) zoneFor(ctx context.Context, contacts []api.Contact, out []engine.Item) *time.Location {
	need := false
	for i, c := range contacts {
		if out[i].Err != nil || c.Birthday == nil {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, *c.Birthday); err == nil {
			if tod := t.UTC().Sub(t.UTC().Truncate(24 * time.Hour)); tod != 0 && tod != 12*time.Hour {
				need = true
				break
			}
		}
	}
	s.zoneMu.Lock()
	defer s.zoneMu.Unlock()
	if !need || s.zoneRead {
		return s.zone
	}
	s.zoneRead = true
	var ms struct {
		TimeZone string `json:"timeZone"`
	}
	if _, _, err := s.c.Do(ctx, http.MethodGet, "mailboxSettings?$select=timeZone", nil, nil, &ms); err != nil {
		if ge := (*graph.Error)(nil); errors.As(err, &ge) && ge.Status == http.StatusForbidden {
			s.log.Info("o365: the mailbox's time zone is not readable without the MailboxSettings.Read permission; birthdays entered in Outlook are read as the nearest UTC day (right from UTC-11 to UTC+11)",
				"account", s.account, "mailbox", s.c.Mailbox(), "permission", "MailboxSettings.Read",
				"fix", "grant MailboxSettings.Read: delegated, then run cardbridge login again; app-only, as an application permission with admin consent")
			return nil
		}
		s.log.Debug("o365: the mailbox's time zone is not readable; birthdays are read as the nearest UTC day",
			"mailbox", s.c.Mailbox(), "err", err)
		return nil
	}
	loc, ok := zoneOf(ms.TimeZone)
	if !ok {
		s.log.Debug("o365: unknown mailbox time zone; birthdays are read as the nearest UTC day",
			"mailbox", s.c.Mailbox(), "timeZone", ms.TimeZone)
		return nil
	}
	s.zone = loc
	return loc
}

// uidSpace is the namespace of UIDs derived from Graph ids.
var uidSpace = uuid.MustParse("9b3c1f64-2e7a-4d58-8c1b-5a0f6e2d7c93")

// DerivedUID is the UID of a contact made in Outlook, which carries no
// UID property: a name-based UUID of its immutable id.
func DerivedUID(graphID string) string {
	return uuid.NewSHA1(uidSpace, []byte(graphID)).String()
}

// isMalformedID tells Graph's answer to an id that cannot exist.
func isMalformedID(err error) bool {
	var ge *graph.Error
	return errors.As(err, &ge) && ge.Code == "ErrorInvalidIdMalformed"
}

func photoHash(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := sha256.Sum256(b)
	return fmt.Sprintf("%x", h)
}

// refuse gives the error for cards Office 365 cannot hold at all.
func refuse(card *vcard.Card) error {
	if IsGroup(card) {
		return fmt.Errorf("%w: a contact group (%q) cannot be an Office 365 contact; it stays on the other side", engine.ErrRefused, card.FN())
	}
	return nil
}

// Create posts a new contact (with its UID property) and uploads its
// photo.
func (s *Side) Create(ctx context.Context, card *vcard.Card) (engine.Ref, error) {
	if err := refuse(card); err != nil {
		return engine.Ref{}, err
	}
	c, photo := FromVCard(card)
	body, err := CreateJSON(c)
	if err != nil {
		return engine.Ref{}, err
	}
	r := s.batch.do(ctx, graph.Op{Method: http.MethodPost, Path: s.contactsPath(), Body: body, ContentType: "application/json"})
	if r.Err != nil {
		return engine.Ref{}, s.contactErr("create", "", card.FN(), r.Err)
	}
	// Only the new id and change key are needed of the contact Graph
	// sends back.
	var got struct {
		ID        string `json:"id"`
		ChangeKey string `json:"changeKey"`
	}
	if err := json.Unmarshal(r.Body, &got); err != nil || got.ID == "" {
		return engine.Ref{}, s.contactErr("create", "", card.FN(), errors.New("unreadable answer"))
	}
	ref := engine.Ref{ID: got.ID, Version: got.ChangeKey}
	s.mu.Lock()
	s.noteName(got.ID, card.FN())
	s.mu.Unlock()
	if photo != nil && !s.refusesPhotos() {
		ck, err := s.putPhoto(ctx, got.ID, ref.Version, photo)
		if err != nil {
			return ref, err
		}
		ref.Version = ck
	}
	return ref, nil
}

// Update patches a contact if its change key is still ref.Version, and
// uploads the photo when it differs from the one last seen.
func (s *Side) Update(ctx context.Context, ref engine.Ref, card *vcard.Card) (engine.Ref, error) {
	if err := refuse(card); err != nil {
		return engine.Ref{}, err
	}
	c, photo := FromVCard(card)
	body, err := ContactJSON(c)
	if err != nil {
		return engine.Ref{}, err
	}
	r := s.batch.do(ctx, graph.Op{Method: http.MethodPatch, Path: s.itemPath(ref.ID), IfMatch: `W/"` + ref.Version + `"`, Body: body, ContentType: "application/json"})
	if r.Err != nil {
		switch {
		case graph.IsPrecondition(r.Err):
			return engine.Ref{}, s.contactErr("update", ref.ID, card.FN(), fmt.Errorf("%w: %w", engine.ErrPrecondition, r.Err))
		case graph.IsNotFound(r.Err):
			return engine.Ref{}, s.contactErr("update", ref.ID, card.FN(), fmt.Errorf("%w (%w): %w", engine.ErrPrecondition, engine.ErrNotFound, r.Err))
		}
		return engine.Ref{}, s.contactErr("update", ref.ID, card.FN(), r.Err)
	}
	var got api.Contact
	if err := json.Unmarshal(r.Body, &got); err != nil {
		return engine.Ref{}, s.contactErr("update", ref.ID, card.FN(), errors.New("unreadable answer"))
	}
	out := engine.Ref{ID: ref.ID, Version: got.ChangeKey}
	s.mu.Lock()
	s.noteName(ref.ID, card.FN())
	known, seen := s.photos[ref.ID]
	if s.photosRefused {
		photo = nil
	}
	s.mu.Unlock()
	if photo != nil && !seen {
		// Not read this run: read it rather than upload up to 4 MB again.
		cur, err := s.c.GetPhoto(ctx, s.itemPath(ref.ID))
		if err != nil {
			return out, s.contactErr("photo", ref.ID, card.FN(), err)
		}
		known, seen = photoHash(cur), true
	}
	if photo != nil && known != photoHash(photo) {
		ck, err := s.putPhoto(ctx, ref.ID, out.Version, photo)
		if err != nil {
			return out, err
		}
		out.Version = ck
	}
	return out, nil
}

// putPhoto uploads a contact's photo and returns the contact's change key
// after the upload. Exchange keeps the photo as an attachment, and adding
// one alters the contact's change key: the key before the upload (before)
// is stale at once, so it is read again (?$select=changeKey, through the
// batcher: concurrent uploads share one $batch). If that read fails the
// old key is returned: the next delta round then reports the contact
// changed and the engine reads it again, which costs a read, not a
// conflict.
func (s *Side) putPhoto(ctx context.Context, id, before string, jpeg []byte) (string, error) {
	if err := s.c.PutPhoto(ctx, s.itemPath(id), jpeg); err != nil {
		if photoRefusedForGood(err) {
			// The contact is written; only its photo cannot be.
			s.refusePhotos(ctx, err)
			return before, nil
		}
		return before, s.contactErr("photo", id, "", err)
	}
	s.mu.Lock()
	s.photos[id] = photoHash(jpeg)
	s.mu.Unlock()
	r := s.batch.do(ctx, graph.Op{Method: http.MethodGet, Path: s.itemPath(id) + "?$select=changeKey"})
	var got api.Contact
	if r.Err == nil {
		if err := json.Unmarshal(r.Body, &got); err != nil {
			r.Err = fmt.Errorf("unreadable answer: %w", err)
		}
	}
	if r.Err != nil || got.ChangeKey == "" {
		s.log.Warn("o365: could not read the change key after a photo upload; the next run reads the contact again",
			"mailbox", s.c.Mailbox(), "contact", id, "err", r.Err)
		return before, nil
	}
	return got.ChangeKey, nil
}

// Delete removes a contact if its change key is still ref.Version.
func (s *Side) Delete(ctx context.Context, ref engine.Ref) error {
	r := s.batch.do(ctx, graph.Op{Method: http.MethodDelete, Path: s.itemPath(ref.ID), IfMatch: `W/"` + ref.Version + `"`})
	switch {
	case r.Err == nil, graph.IsNotFound(r.Err):
		return nil
	case graph.IsPrecondition(r.Err):
		return s.contactErr("delete", ref.ID, "", fmt.Errorf("%w: %w", engine.ErrPrecondition, r.Err))
	}
	return s.contactErr("delete", ref.ID, "", r.Err)
}

// mailboxErr puts the account and mailbox before an error of op that
// concerns no one contact (a listing, a delta round); nil stays nil.
func (s *Side) mailboxErr(op string, err error) error {
	if err == nil {
		return nil
	}
	acct := ""
	if s.account != "" {
		acct = fmt.Sprintf(" account %q", s.account)
	}
	return fmt.Errorf("o365%s (mailbox %s): %s: %w", acct, s.mailboxName(), op, err)
}

// noteName remembers id's display name for errors; s.mu is held.
func (s *Side) noteName(id, name string) {
	if id != "" && name != "" {
		s.names[id] = name
	}
}

// mailboxName names the client's mailbox in errors: the user or UPN it
// acts for, or for "me" the account's configured user, else "signed-in
// user".
func (s *Side) mailboxName() string {
	m := s.c.Mailbox()
	if !strings.EqualFold(m, "me") {
		return m
	}
	if s.user != "" {
		return s.user
	}
	return "signed-in user"
}

// contactErr wraps err in a *graph.ContactError naming the side's account
// and mailbox, op, the contact's id and display name: name, else the one
// last listed, read or written for id.
func (s *Side) contactErr(op, id, name string, err error) error {
	if name == "" && id != "" {
		s.mu.Lock()
		name = s.names[id]
		s.mu.Unlock()
	}
	return &graph.ContactError{Account: s.account, Mailbox: s.mailboxName(), Op: op, ContactID: id, DisplayName: name, Err: err}
}
