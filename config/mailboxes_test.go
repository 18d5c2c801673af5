package config

import (
	"strings"
	"testing"
	"time"
)

const mbTenant = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

// mbAccount is an app-only account yaml with extra lines.
func mbAccount(extra string) string {
	return "accounts:\n  org:\n    tenant: " + mbTenant + "\n    client_id: 11111111-2222-3333-4444-555555555555\n    flow: client-secret\n    client_secret_env: ORG_SECRET\n" + extra
}

func TestMailboxesConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want *Mailboxes
	}{
		{"all, defaults", mbAccount("    mailboxes: all\n"), nil,
			&Mailboxes{Keep: DefaultMailboxKeep, Concurrency: DefaultMailboxConcurrency, Every: DefaultMailboxEvery}},
		{"group and options", mbAccount("    mailboxes: {group: 0F3C1111-2222-3333-4444-555555555555}\n    mailbox_keep: 168h\n    mailbox_concurrency: 8\n    mailbox_every: 30m\n"), nil,
			&Mailboxes{Group: "0f3c1111-2222-3333-4444-555555555555", Keep: 168 * time.Hour, Concurrency: 8, Every: 30 * time.Minute}},
		{"from the environment", mbAccount(""), []string{"CARDBRIDGE_ACCOUNTS_ORG_MAILBOXES=all", "CARDBRIDGE_ACCOUNTS_ORG_MAILBOX_CONCURRENCY=2"},
			&Mailboxes{Keep: DefaultMailboxKeep, Concurrency: 2, Every: DefaultMailboxEvery}},
		{"not set", mbAccount("    user: alice@contoso.com\n"), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, tt.yaml), true, append([]string{"HOME=" + home}, tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			a := cfg.Accounts["org"]
			switch {
			case tt.want == nil && a.Mailboxes != nil:
				t.Errorf("Mailboxes = %+v, want nil", *a.Mailboxes)
			case tt.want != nil && (a.Mailboxes == nil || *a.Mailboxes != *tt.want):
				t.Errorf("Mailboxes = %+v, want %+v", a.Mailboxes, *tt.want)
			}
		})
	}
}

func TestMailboxesConfigRefused(t *testing.T) {
	tests := []struct{ name, yaml, key, msg string }{
		{"not all", mbAccount("    mailboxes: everyone\n"), "accounts.org.mailboxes", `"everyone" is not all`},
		{"group not a guid", mbAccount("    mailboxes: {group: sales}\n"), "accounts.org.mailboxes.group", "not a GUID"},
		{"unknown key", mbAccount("    mailboxes: {group: 0f3c1111-2222-3333-4444-555555555555, grup: x}\n"), "accounts.org.mailboxes.grup", "unknown key"},
		{"delegated flow", "accounts:\n  org:\n    tenant: " + mbTenant + "\n    client_id: 11111111-2222-3333-4444-555555555555\n    mailboxes: all\n", "accounts.org.mailboxes", "needs an app-only flow"},
		{"tenant a domain", strings.Replace(mbAccount("    mailboxes: all\n"), mbTenant, "contoso.com", 1), "accounts.org.tenant", "tenant) ID, a GUID"},
		{"keep zero", mbAccount("    mailboxes: all\n    mailbox_keep: 0s\n"), "accounts.org.mailbox_keep", "must be positive"},
		{"keep bad", mbAccount("    mailboxes: all\n    mailbox_keep: soon\n"), "accounts.org.mailbox_keep", "not a duration"},
		{"concurrency zero", mbAccount("    mailboxes: all\n    mailbox_concurrency: 0\n"), "accounts.org.mailbox_concurrency", "out of range"},
		{"concurrency huge", mbAccount("    mailboxes: all\n    mailbox_concurrency: 1000\n"), "accounts.org.mailbox_concurrency", "out of range"},
		{"every short", mbAccount("    mailboxes: all\n    mailbox_every: 10s\n"), "accounts.org.mailbox_every", "too short"},
		{"keep without mailboxes", mbAccount("    user: a@contoso.com\n    mailbox_keep: 1h\n"), "accounts.org.mailbox_keep", "only used with mailboxes"},
		{"no user, no mailboxes", mbAccount(""), "accounts.org.user", "whose mailbox to sync"},
		{"o365 side of a mailboxes account", mbAccount("    mailboxes: all\n") + "pairs:\n  p:\n    a: {type: o365, account: org}\n    b: {type: vdir, path: /tmp/x}\n", "pairs.p.a.account", "names no user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.yaml), true, []string{"HOME=" + home})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, p := range problems(t, err) {
				if (p.Key == tt.key || strings.HasPrefix(p.Key, tt.key+".")) && strings.Contains(p.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("no problem at %s saying %q in:\n%v", tt.key, tt.msg, err)
		})
	}
}
