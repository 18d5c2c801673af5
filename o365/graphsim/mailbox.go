package graphsim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Mailbox is one user's mailbox: contact folders and contacts. Its methods
// are test and seed helpers that act as Outlook would (they bump changeKey
// and show in delta like any edit); they are safe for concurrent use.
type Mailbox struct {
	s    *Server
	user User

	mu      sync.Mutex
	rootID  string
	def     *folder
	folders map[string]*folder  // by id
	byID    map[string]*contact // by both id forms
	seq     uint64
	ord     uint64
	flog    []folderLogEntry // folder changes, for contactFolders/delta
	// personal: a personal Microsoft account's mailbox (outlook.com),
	// which refuses contact photo writes.
	personal bool
	// tz is the mailbox's time zone, tzName its mailboxSettings timeZone;
	// birthdays entered in Outlook are stored as its local midnight.
	tz     *time.Location
	tzName string
}

type folder struct {
	id, name string
	parent   *folder
	isDef    bool
	deleted  bool
	items    []*contact // in creation order
	log      []logEntry // contact changes in this folder, ascending seq
	stale    int
	seq      uint64
	syncGen  int // highest sync-state generation of contact delta (completed rounds)
}

type folderLogEntry struct {
	seq     uint64
	f       *folder
	removed bool
}

type logEntry struct {
	seq     uint64
	c       *contact
	removed bool
}

func newMailbox(s *Server, u User) *Mailbox {
	m := &Mailbox{s: s, user: u, folders: map[string]*folder{}, byID: map[string]*contact{}}
	m.rootID = "AAMkA" + encID(randBytes(40))
	m.def = &folder{id: "AAMkA" + encID(randBytes(40)), name: "Contacts", isDef: true}
	m.folders[m.def.id] = m.def
	return m
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// encID encodes bytes the way Exchange ids look: base64 with '/' -> '-'
// and '+' -> '_', padding kept.
func encID(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	return strings.NewReplacer("/", "-", "+", "_").Replace(s)
}

// Immutable ids start with "AAkALg", regular (folder-dependent) ids with
// "AAMkA": a client that forgets Prefer: IdType="ImmutableId" sees
// different ids.
func (m *Mailbox) contactID(c *contact, immutable bool) string {
	if immutable {
		return "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A" + c.key
	}
	return "AAMkA" + c.folder.id[5:17] + "BGAAAAAA" + c.key
}

func (m *Mailbox) nextSeq() uint64 {
	m.seq++
	return m.seq
}

// User returns the user this mailbox belongs to.
func (m *Mailbox) User() User { return m.user }

// DefaultFolderID returns the id of the default Contacts folder.
func (m *Mailbox) DefaultFolderID() string { return m.def.id }

func newChangeKey() string {
	return "EQAAABYAAAA" + strings.TrimRight(encID(randBytes(15)), "=")
}

// folderByRef resolves a folder id or the well-known name "Contacts".
// Call with m.mu held.
func (m *Mailbox) folderByRef(ref string) *folder {
	if ref == "" || strings.EqualFold(ref, "contacts") {
		return m.def
	}
	if f := m.folders[ref]; f != nil && !f.deleted {
		return f
	}
	return nil
}

// createFolder makes a folder under parent (m.mu held). It returns nil
// when a sibling has the same name.
func (m *Mailbox) createFolder(parent *folder, name string) *folder {
	for _, f := range m.folders {
		if f.parent == parent && !f.deleted && strings.EqualFold(f.name, name) {
			return nil
		}
	}
	f := &folder{id: "AAMkA" + encID(randBytes(40)), name: name, parent: parent}
	m.folders[f.id] = f
	m.touchFolder(f, false)
	return f
}

func (m *Mailbox) touchFolder(f *folder, removed bool) {
	f.seq = m.nextSeq()
	m.flog = append(m.flog, folderLogEntry{seq: f.seq, f: f, removed: removed})
}

// addContact stores a new contact in f (m.mu held).
func (m *Mailbox) addContact(f *folder, p *contactPatch) *contact {
	c := newContact()
	c.key = encID(randBytes(46))
	c.folder = f
	now := m.s.now().UTC().Truncate(time.Second)
	c.created = now
	c.apply(p, !m.s.opts.NoDisplayNameRegeneration)
	m.ord++
	f.items = append(f.items, c)
	m.byID[m.contactID(c, true)] = c
	m.byID[m.contactID(c, false)] = c
	m.bump(c)
	return c
}

// bump records a modification of c (m.mu held).
func (m *Mailbox) bump(c *contact) {
	c.changeKey = newChangeKey()
	c.modified = m.s.now().UTC().Truncate(time.Second)
	if c.modified.Before(c.created) {
		c.modified = c.created
	}
	if c.seq != 0 {
		c.folder.stale++
	}
	c.seq = m.nextSeq()
	c.folder.log = append(c.folder.log, logEntry{seq: c.seq, c: c})
	m.compact(c.folder)
}

func (m *Mailbox) compact(f *folder) {
	if f.stale < 1024 || f.stale < len(f.log)/2 {
		return
	}
	out := f.log[:0:0]
	for _, e := range f.log {
		if e.removed || e.c.seq == e.seq {
			out = append(out, e)
		}
	}
	f.log, f.stale = out, 0
}

// removeContact deletes c (m.mu held).
func (m *Mailbox) removeContact(c *contact) {
	f := c.folder
	if i := slices.Index(f.items, c); i >= 0 {
		f.items = slices.Delete(f.items, i, i+1)
	}
	delete(m.byID, m.contactID(c, true))
	delete(m.byID, m.contactID(c, false))
	f.stale++
	c.seq = m.nextSeq()
	f.log = append(f.log, logEntry{seq: c.seq, c: c, removed: true})
}

func (m *Mailbox) lookup(id string) *contact {
	return m.byID[id]
}

// AddFolder creates a contact folder under the default folder (as
// POST /me/contactFolders does) and returns its id; an existing folder of
// that name is returned as is.
func (m *Mailbox) AddFolder(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.createFolder(m.def, name); f != nil {
		return f.id
	}
	for _, f := range m.folders {
		if f.parent == m.def && !f.deleted && strings.EqualFold(f.name, name) {
			return f.id
		}
	}
	return ""
}

// FolderID returns the id of the folder with this display name (a
// top-level one first), or "" ("Contacts" is the default folder).
func (m *Mailbox) FolderID(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if strings.EqualFold(name, "contacts") {
		return m.def.id
	}
	best := ""
	for _, f := range m.folders {
		if !f.deleted && strings.EqualFold(f.name, name) {
			if f.parent == m.def {
				return f.id
			}
			best = f.id
		}
	}
	return best
}

// Put creates a contact from Graph JSON in folderID ("" or "Contacts" for
// the default folder) or, when the JSON has the "id" of an existing
// contact, updates it as a PATCH would; either way changeKey and
// lastModifiedDateTime move, as an edit in Outlook. It panics on a body
// Graph would refuse or an unknown folder (it is a test helper).
func (m *Mailbox) Put(folderID string, contactJSON []byte) (id string) {
	p, e := parseContactBody(contactJSON)
	if e != nil {
		panic("graphsim: Mailbox.Put: " + e.Error())
	}
	var idOnly struct {
		ID       string `json:"id"`
		Birthday string `json:"birthday"`
	}
	json.Unmarshal(contactJSON, &idOnly)
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, err := time.Parse("2006-01-02", idOnly.Birthday); err == nil && m.tz != nil {
		// Entered in Outlook: the local midnight of that day, in UTC.
		t := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, m.tz).UTC()
		p.set["birthday"] = &t
	}
	if c := m.lookup(idOnly.ID); idOnly.ID != "" && c != nil {
		c.apply(p, !m.s.opts.NoDisplayNameRegeneration)
		m.bump(c)
		return m.contactID(c, true)
	}
	f := m.folderByRef(folderID)
	if f == nil {
		panic(fmt.Sprintf("graphsim: Mailbox.Put: no folder %q", folderID))
	}
	return m.contactID(m.addContact(f, p), true)
}

// Get returns a contact as Graph renders it with immutable ids and every
// extended property expanded.
func (m *Mailbox) Get(id string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.lookup(id)
	if c == nil {
		return nil, false
	}
	return c.render(m, m.renderOpts(true, &extFilter{}, &extFilter{})), true
}

func (m *Mailbox) renderOpts(immutable bool, ext, mv *extFilter) renderOpts {
	if ext != nil && ext.ids != nil && len(ext.ids) == 0 {
		ext = &extFilter{}
	}
	return renderOpts{immutable: immutable, expandExt: ext, expandMV: mv, birthday: m.s.opts.Birthday, emailName: !m.s.opts.EmailNameAsGiven}
}

// ExtendedProperty returns the value of a contact's single-value extended
// property (ids compare case-insensitively).
func (m *Mailbox) ExtendedProperty(id, propID string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.lookup(id)
	if c == nil {
		return "", false
	}
	e, ok := c.ext[strings.ToLower(propID)]
	return e.Value, ok
}

// Delete removes a contact (a delta round then reports it @removed).
func (m *Mailbox) Delete(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.lookup(id); c != nil {
		m.removeContact(c)
	}
}

// SetPhoto sets (nil: removes) a contact's photo as Outlook does: the photo
// is an attachment of the contact, so changeKey and lastModifiedDateTime
// move and delta reports the contact (Options.UntrackedOutlookPhotos keeps
// them still, the other reading of Microsoft's documentation).
func (m *Mailbox) SetPhoto(id string, jpeg []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.lookup(id); c != nil {
		c.setPhoto(jpeg)
		if !m.s.opts.UntrackedOutlookPhotos {
			m.bump(c)
		}
	}
}

func (c *contact) setPhoto(b []byte) {
	if len(b) == 0 {
		c.photo, c.photoTag = nil, ""
		return
	}
	c.photo = slices.Clone(b)
	c.photoTag = `"` + strings.TrimRight(encID(randBytes(12)), "=") + `"`
}

// SetTimeZone sets the mailbox's time zone: name is what mailboxSettings
// answers as timeZone (a Windows name such as "W. Europe Standard Time",
// or an IANA one), loc the zone it stands for. Outlook stores a birthday
// entered by the user as the local midnight of that day converted to UTC
// (a user in CEST who enters 2 June gets 1980-06-01T22:00:00Z): Put, which
// acts as Outlook, does so for a date-only birthday. The default is UTC.
func (m *Mailbox) SetTimeZone(name string, loc *time.Location) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tzName, m.tz = name, loc
}

// SetPersonal makes the mailbox a personal Microsoft account's
// (outlook.com, hotmail): like the real service ("Delegated (personal
// Microsoft account): Not supported" for contact photos) it refuses every
// contact photo write with PhotoNotSupported; reading photos works.
func (m *Mailbox) SetPersonal(personal bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.personal = personal
}

// Photo returns a contact's photo bytes.
func (m *Mailbox) Photo(id string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.lookup(id)
	if c == nil || c.photo == nil {
		return nil, false
	}
	return slices.Clone(c.photo), true
}

// Contacts returns the contacts of a folder ("" or "Contacts": the default
// one) rendered with immutable ids and extended properties, in creation order.
func (m *Mailbox) Contacts(folderID string) []json.RawMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.folderByRef(folderID)
	if f == nil {
		return nil
	}
	out := make([]json.RawMessage, 0, len(f.items))
	for _, c := range f.items {
		out = append(out, c.render(m, m.renderOpts(true, &extFilter{}, &extFilter{})))
	}
	return out
}

// Count returns the number of contacts in a folder.
func (m *Mailbox) Count(folderID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.folderByRef(folderID); f != nil {
		return len(f.items)
	}
	return 0
}

// ContactIDs returns the immutable ids of a folder's contacts, in creation order.
func (m *Mailbox) ContactIDs(folderID string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.folderByRef(folderID)
	if f == nil {
		return nil
	}
	out := make([]string, 0, len(f.items))
	for _, c := range f.items {
		out = append(out, m.contactID(c, true))
	}
	return out
}
