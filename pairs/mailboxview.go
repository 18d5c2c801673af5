package pairs

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/termout"
)

// MailboxView is what status and the administrator's page show of one
// provisioned mailbox (its JSON form is the `mailboxes` array of
// `status --json`).
type MailboxView struct {
	Account string `json:"account"`
	// Mailbox is the owner's UPN as last seen; ObjectID and TenantID name
	// the person.
	Mailbox  string `json:"mailbox"`
	TenantID string `json:"tenant_id"`
	ObjectID string `json:"object_id"`
	User     string `json:"user"`
	Pair     string `json:"pair"`
	// State is "active" or "paused" (the owner left at LeftAt).
	State  string     `json:"state"`
	LeftAt *time.Time `json:"left_at,omitempty"`
	// RemoveAt is when a paused mailbox's pair and user go (LeftAt +
	// mailbox_keep).
	RemoveAt *time.Time `json:"remove_at,omitempty"`
	// LastRun is the end of the pair's last run; ToOffice365 and ToBook
	// its changes to each side, ItemErrors its failed items, Error its
	// error ("" none).
	LastRun     *time.Time `json:"last_run,omitempty"`
	ToOffice365 int        `json:"changes_to_office365"`
	ToBook      int        `json:"changes_to_book"`
	ItemErrors  int        `json:"item_errors"`
	Error       string     `json:"error,omitempty"`
}

// HasMailboxes reports whether an account of the configuration provisions
// mailboxes.
func (r *Runner) HasMailboxes() bool {
	for _, a := range r.o.Config.Accounts {
		if a.Mailboxes != nil {
			return true
		}
	}
	return false
}

// Mailboxes lists the provisioned mailboxes of every account, by account
// and pair.
func (r *Runner) Mailboxes(ctx context.Context) ([]MailboxView, error) {
	ms, err := r.o.DB.Mailboxes(ctx, "")
	if err != nil {
		return nil, err
	}
	out := []MailboxView{}
	for _, m := range ms {
		v := MailboxView{Account: m.Account, Mailbox: m.UPN, TenantID: m.TenantID, ObjectID: m.ObjectID, User: m.User, Pair: m.Pair,
			State: m.State, ToOffice365: m.AChanges, ToBook: m.BChanges, ItemErrors: m.ItemErrors, Error: m.LastError}
		if v.Mailbox == "" {
			v.Mailbox = m.ObjectID
		}
		if !m.LeftAt.IsZero() {
			left := m.LeftAt
			v.LeftAt = &left
			if acc, ok := r.o.Config.Account(m.Account); ok && acc.Mailboxes != nil {
				rm := left.Add(acc.Mailboxes.Keep)
				v.RemoveAt = &rm
			}
		}
		if !m.LastRun.IsZero() {
			run := m.LastRun
			v.LastRun = &run
		}
		out = append(out, v)
	}
	return out, nil
}

// WriteMailboxes writes status's table of the mailboxes: MAILBOX, USER,
// STATE, LAST RUN, CHANGES (to Office 365 / to the book, and failed
// items), ERROR; text escaped (termout.Cell), times relative to now.
func WriteMailboxes(w io.Writer, vs []MailboxView, now time.Time) error {
	if _, err := fmt.Fprintln(w, "\nMailboxes:"); err != nil {
		return err
	}
	t := termout.NewTable(w, "MAILBOX", "USER", "STATE", "LAST RUN", "CHANGES", "ERROR")
	for _, v := range vs {
		state := v.State
		if v.LeftAt != nil {
			state += " since " + fields.Ago(now, *v.LeftAt)
		}
		last, changes := "never", "-"
		if v.LastRun != nil {
			last = fields.Ago(now, *v.LastRun)
			changes = strconv.Itoa(v.ToOffice365) + " to Office 365, " + strconv.Itoa(v.ToBook) + " to the book"
			if v.ItemErrors > 0 {
				changes += ", " + strconv.Itoa(v.ItemErrors) + " failed"
			}
		}
		errText := v.Error
		if errText == "" {
			errText = "-"
		}
		t.Row(termout.Cell(v.Mailbox), termout.Cell(v.User), state, last, changes, termout.Cell(errText))
	}
	return t.Flush()
}
