package config

import (
	"strings"
	"testing"
	"time"
)

// TestDirectoryKey: accounts.NAME.directory as true, false or a mapping of
// guests and disabled, and its clear errors: a delegated flow, a tenant
// that is not a GUID, an unknown sub-key, a group that is not a GUID, a
// value of the wrong type; mailbox_every sets how often a directory-only
// account is read (default 15m, at least 1m).
func TestDirectoryKey(t *testing.T) {
	const app = "accounts:\n  org: {tenant: AAAAAAAA-0000-4000-8000-000000000001, client_id: 11111111-2222-3333-4444-555555555555, flow: client-secret, client_secret_env: S, user: a@b.example, directory: "
	good := []struct {
		yaml string
		want *DirectoryBook
	}{
		{app + "true}\n", &DirectoryBook{Every: DefaultMailboxEvery}},
		{app + "false}\n", nil},
		{app + "{guests: true}}\n", &DirectoryBook{Guests: true, Every: DefaultMailboxEvery}},
		{app + "{disabled: true, guests: false}}\n", &DirectoryBook{Disabled: true, Every: DefaultMailboxEvery}},
		{app + "{group: 22222222-0000-4000-8000-00000000000A}}\n", &DirectoryBook{Group: "22222222-0000-4000-8000-00000000000a", Every: DefaultMailboxEvery}},
		{app + "true, mailbox_every: 5m}\n", &DirectoryBook{Every: 5 * time.Minute}},
		{app + "true, mailboxes: all, mailbox_every: 7m}\n", &DirectoryBook{Every: 7 * time.Minute}},
		{"accounts:\n  org: {tenant: aaaaaaaa-0000-4000-8000-000000000001, client_id: 11111111-2222-3333-4444-555555555555}\n", nil},
	}
	for _, tt := range good {
		cfg, err := Load(writeConfig(t, tt.yaml), true, []string{"HOME=" + home})
		if err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		got := cfg.Accounts["org"].Directory
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("%s: directory %+v, want %+v", tt.yaml, got, tt.want)
		}
	}
	bad := []struct{ yaml, key, msg string }{
		{"accounts:\n  org: {tenant: aaaaaaaa-0000-4000-8000-000000000001, client_id: 11111111-2222-3333-4444-555555555555, directory: true}\n",
			"accounts.org.directory", "needs an app-only flow"},
		{strings.Replace(app, "AAAAAAAA-0000-4000-8000-000000000001", "contoso.com", 1) + "true}\n",
			"accounts.org.directory", `needs tenant as the Directory (tenant) ID, a GUID`},
		{app + "{guest: true}}\n", "accounts.org.directory.guest", "unknown key (did you mean guests?)"},
		{app + "{group: sales}}\n", "accounts.org.directory.group", "is not a GUID"},
		{app + "true, mailbox_every: 10s}\n", "accounts.org.mailbox_every", "too short"},
		{app + "false, mailbox_every: 5m}\n", "accounts.org.mailbox_every", "only used with mailboxes"},
		{app + "[x]}\n", "accounts.org.directory", "expected true, false or a mapping"},
		{app + "maybe}\n", "accounts.org.directory", "expected true or false"},
	}
	for _, tt := range bad {
		_, err := Load(writeConfig(t, tt.yaml), true, []string{"HOME=" + home})
		if err == nil {
			t.Fatalf("%s: loaded", tt.yaml)
		}
		got := problems(t, err)
		if len(got) != 1 || got[0].Key != tt.key || !strings.Contains(got[0].Msg, tt.msg) {
			t.Errorf("%s: problems %v, want %s: …%s…", tt.yaml, got, tt.key, tt.msg)
		}
	}
}
