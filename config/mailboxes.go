package config

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of an account's mailboxes keys.
const (
	// DefaultMailboxKeep is mailbox_keep's default: how long the pair of
	// someone who left the tenant (or its group) is kept, paused, before it
	// and their local user are removed (30 days).
	DefaultMailboxKeep = 720 * time.Hour
	// DefaultMailboxConcurrency is mailbox_concurrency's default: mailbox
	// pairs of one account run at once.
	DefaultMailboxConcurrency = 4
	// MaxMailboxConcurrency caps mailbox_concurrency.
	MaxMailboxConcurrency = 256
	// DefaultMailboxEvery is mailbox_every's default: how often the
	// tenant's directory is read and every mailbox pair runs.
	DefaultMailboxEvery = 15 * time.Minute
)

// Mailboxes is an account's `mailboxes` (with mailbox_keep,
// mailbox_concurrency and mailbox_every): serve makes and keeps one pair
// per mailbox of the tenant, that mailbox's contacts (app-only) with its
// owner's address book on the built-in server.
type Mailboxes struct {
	// Group, when set, limits the mailboxes to the members of this group
	// (its object id, lower case); "" is every mailbox of the tenant
	// (`mailboxes: all`).
	Group string
	// Keep is mailbox_keep: how long the pair of someone who left is kept
	// paused before it and its user are removed.
	Keep time.Duration
	// Concurrency is mailbox_concurrency: how many mailbox pairs of the
	// account work with Office 365 at once (a run whose plan writes
	// nothing to Office 365 hands its slot on while it writes the book).
	Concurrency int
	// Every is mailbox_every: how often the directory is read and the
	// mailbox pairs run.
	Every time.Duration
}

// mailboxKeys are the account keys that go with mailboxes.
var mailboxKeys = []string{"mailbox_keep", "mailbox_concurrency", "mailbox_every"}

// mailboxes reads an account's mailboxes keys into a (nil when mailboxes
// is not set); it runs after the flow and tenant are read.
func (d *decoder) mailboxes(m map[string]any, base string, a *Account) {
	v, set := m["mailboxes"]
	if !set || v == nil {
		for _, k := range mailboxKeys {
			if k == "mailbox_every" && directorySet(m) {
				continue // the directory's refresh interval (directoryBook reads it)
			}
			if x, ok := m[k]; ok && x != nil {
				also := ""
				if k == "mailbox_every" {
					also = " or directory"
				}
				d.add(join(base, k), "only used with mailboxes (all or {group: <group object id>})%s", also)
			}
		}
		return
	}
	mb := &Mailboxes{Keep: DefaultMailboxKeep, Concurrency: DefaultMailboxConcurrency, Every: DefaultMailboxEvery}
	key := join(base, "mailboxes")
	switch x := v.(type) {
	case string:
		if strings.ToLower(strings.TrimSpace(x)) != "all" {
			d.add(key, "%q is not all or a mapping {group: <group object id>}", x)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if k != "group" {
				msg := "unknown key"
				if s := suggest(k, []string{"group"}); s != "" {
					msg += " (did you mean " + s + "?)"
				}
				d.add(join(key, k), "%s", msg)
			}
		}
		g, _ := d.str(x, key, "group")
		switch {
		case g == "":
			d.add(join(key, "group"), "required in the mapping form (the group's object id, a GUID); write mailboxes: all for every mailbox of the tenant")
		case !guidRE.MatchString(g):
			d.add(join(key, "group"), "%q is not a GUID (the group's object id, from the group's Overview page in the Microsoft Entra admin center)", g)
		default:
			mb.Group = strings.ToLower(g)
		}
	default:
		d.add(key, "expected all or a mapping {group: <group object id>}, got %s", describe(v))
	}
	if a.Flow != "client-secret" && a.Flow != "client-certificate" {
		d.add(key, "needs an app-only flow (flow: client-certificate or client-secret, with the application permissions Contacts.ReadWrite and User.Read.All); flow %s signs in as one person", a.Flow)
	}
	if a.Tenant != "" && !guidRE.MatchString(a.Tenant) {
		d.add(join(base, "tenant"), "%q: mailboxes needs the Directory (tenant) ID, a GUID, from the app registration's Overview page (people are known by tenant id and object id)", a.Tenant)
	}
	if dur, ok := d.duration(m, base, "mailbox_keep"); ok {
		if dur <= 0 {
			d.add(join(base, "mailbox_keep"), "must be positive (like 720h): how long the paused pair of someone who left is kept")
		} else {
			mb.Keep = dur
		}
	}
	if dur, ok := d.duration(m, base, "mailbox_every"); ok {
		if dur < time.Minute {
			d.add(join(base, "mailbox_every"), "%s is too short (at least 1m)", dur)
		} else {
			mb.Every = dur
		}
	}
	if x, ok := m["mailbox_concurrency"]; ok && x != nil {
		n := d.integer(m, base, "mailbox_concurrency")
		switch {
		case n < 1 || n > MaxMailboxConcurrency:
			d.add(join(base, "mailbox_concurrency"), "%d is out of range (1 to %d mailboxes at once)", n, MaxMailboxConcurrency)
		default:
			mb.Concurrency = n
		}
	}
	a.Mailboxes = mb
}

// duration reads a duration key; ok is false when unset or bad (reported).
func (d *decoder) duration(m map[string]any, base, k string) (time.Duration, bool) {
	switch x := m[k].(type) {
	case nil:
		return 0, false
	case string:
		dur, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			d.add(join(base, k), "%q is not a duration (like 15m or 720h)", x)
			return 0, false
		}
		return dur, true
	default:
		d.add(join(base, k), "expected a duration (like 15m or 720h), got %s", describe(x))
		return 0, false
	}
}

// MailboxAccount is the account of the pair of one mailbox of account a
// (one with Mailboxes): a's app and credentials, reading the mailbox of
// the user with object id (or UPN) user. Its Name stays a's, so that all
// the mailboxes share a's app-only token.
func (a Account) MailboxAccount(user string) Account {
	m := a
	m.User = user
	return m
}

// String says which mailboxes: "all" or "group <id>".
func (m Mailboxes) String() string {
	if m.Group == "" {
		return "all"
	}
	return fmt.Sprintf("group %s", m.Group)
}

// directorySet reports whether an account's mapping m turns directory on
// (true or a mapping), for mailbox_every, which then says how often the
// directory is read.
func directorySet(m map[string]any) bool {
	switch v := m["directory"].(type) {
	case map[string]any:
		return true
	case bool:
		return v
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "on", "1":
			return true
		}
	}
	return false
}
