package pairs

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// TestMailboxKey: accounts reaching one mailbox get one key (compared
// without case by graph.Limiters); a delegated account is keyed by the
// user it signed in as.
func TestMailboxKey(t *testing.T) {
	ctx := t.Context()
	db := statetest.Open(t, filepath.Join(t.TempDir(), "state.db"), state.Options{TokenKey: bytes.Repeat([]byte{7}, state.TokenKeySize)})
	defer db.Close()
	if err := db.SaveToken(ctx, "signed", state.AccountToken{AccessToken: "at", RefreshToken: "rt", User: "Alice@Contoso.example", Flow: "device", ClientID: "11111111-2222-3333-4444-555555555555"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		acc  config.Account
		want string
	}{
		{config.Account{Name: "app", Flow: "client-secret", User: "alice@contoso.example"}, "alice@contoso.example"},
		{config.Account{Name: "cert", Flow: "client-certificate", User: "bob@contoso.example"}, "bob@contoso.example"},
		{config.Account{Name: "signed", Flow: "device", User: "someone-else@contoso.example"}, "Alice@Contoso.example"},
		{config.Account{Name: "hint", Flow: "browser", User: "carol@contoso.example"}, "carol@contoso.example"},
		{config.Account{Name: "anon", Flow: "device"}, "account:anon"},
	}
	for _, tc := range cases {
		if got := mailboxKey(ctx, tc.acc, db); got != tc.want {
			t.Errorf("mailboxKey(%s) = %q, want %q", tc.acc.Name, got, tc.want)
		}
	}
}
