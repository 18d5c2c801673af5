package state

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testTokenKey is the token key of the tests' databases.
func testTokenKey() []byte { return bytes.Repeat([]byte{0x42}, TokenKeySize) }

// rawFile is every byte of the database's files (the main file and the
// WAL), as an attacker who copied them would read them.
func rawFile(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestTokensSealedAtRest: with a key, neither the database's columns nor
// its files hold a token (nor its base64); the tokens read back; a value
// copied onto another account, or between columns, does not open; another
// key or no key gives an error naming the account and what to do, and the
// tokens stay.
func TestTokensSealedAtRest(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, path := be.openTest(t)
		access, refresh := "eyJhbGciOi.access-token-of-work.sig", "0.AAAA-refresh-token-of-work"
		if err := db.SaveToken(ctx, "work", AccountToken{AccessToken: access, RefreshToken: refresh, User: "alice@contoso.example", Expiry: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveToken(ctx, "home", AccountToken{AccessToken: "home-at", RefreshToken: "home-rt"}); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.LoadToken(ctx, "work")
		if err != nil || !ok || got.AccessToken != access || got.RefreshToken != refresh || got.User != "alice@contoso.example" {
			t.Fatalf("LoadToken = %+v, %v, %v", got, ok, err)
		}
		var colAccess, colRefresh string
		if err := db.sql.QueryRow(`SELECT access_token, refresh_token FROM accounts WHERE name = 'work'`).Scan(&colAccess, &colRefresh); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(colAccess, "access-token") || strings.Contains(colRefresh, "refresh-token") || colAccess == "" || colRefresh == "" {
			t.Fatalf("stored columns: %q %q", colAccess, colRefresh)
		}
		if accs, _ := db.Accounts(ctx); len(accs) != 2 || !accs[1].HasRefreshToken {
			t.Fatalf("Accounts = %+v", accs)
		}
		db.Close()
		raw := rawFile(t, path)
		for _, s := range []string{access, refresh, "access-token-of-work", "refresh-token-of-work", base64.StdEncoding.EncodeToString([]byte(refresh))} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("the database file holds %q", s)
			}
		}

		// Copy work's sealed row onto home: home's tokens no longer open.
		db, err = Open(ctx, path, Options{TokenKey: testTokenKey(), TokenKeySource: "the key file /k"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.sql.Exec(`UPDATE accounts SET access_token = ?, refresh_token = ? WHERE name = 'home'`, colAccess, colRefresh); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.LoadToken(ctx, "home"); !errors.Is(err, ErrTokenKeyMismatch) || !strings.Contains(err.Error(), "home") {
			t.Errorf("a row copied from another account: %v", err)
		}
		if _, err := db.sql.Exec(`UPDATE accounts SET access_token = ?, refresh_token = ? WHERE name = 'work'`, colRefresh, colAccess); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.LoadToken(ctx, "work"); !errors.Is(err, ErrTokenKeyMismatch) {
			t.Errorf("the columns swapped: %v", err)
		}
		db.sql.Exec(`UPDATE accounts SET access_token = ?, refresh_token = ? WHERE name = 'work'`, colAccess, colRefresh)
		db.Close()

		cases := []struct {
			name string
			opts Options
			want error
			say  []string
		}{
			{"another key", Options{TokenKey: bytes.Repeat([]byte{7}, TokenKeySize), TokenKeySource: "the key file /etc/cb/state.key"}, ErrTokenKeyMismatch,
				[]string{"account work", "/etc/cb/state.key", "cardbridge logout work", "restore the key"}},
			{"no key", Options{TokenKeySource: "no key was found (the key file /x/state.key does not exist)"}, ErrNoTokenKey,
				[]string{"account work", "/x/state.key does not exist", "cardbridge login work"}},
			{"no key, read-only", Options{ReadOnly: true}, ErrNoTokenKey, []string{"account work", "no key was given"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				db, err := Open(ctx, path, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if bad, err := db.SealedAccounts(ctx); err != nil || strings.Join(bad, ",") != "home,work" {
					t.Errorf("SealedAccounts = %v, %v; want home,work", bad, err)
				}
				_, ok, err := db.LoadToken(ctx, "work")
				if !errors.Is(err, c.want) || ok {
					t.Fatalf("LoadToken: %v (%v), want %v", err, ok, c.want)
				}
				for _, s := range c.say {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("the error does not say %q: %v", s, err)
					}
				}
				if !c.opts.ReadOnly && c.opts.TokenKey == nil {
					if err := db.SaveToken(ctx, "new", AccountToken{RefreshToken: "x"}); !errors.Is(err, ErrNoTokenKey) {
						t.Errorf("SaveToken without a key: %v", err)
					}
				}
			})
		}
		// The tokens are still there, and open with the right key.
		db, err = Open(ctx, path, Options{TokenKey: testTokenKey()})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got, ok, err := db.LoadToken(ctx, "work"); err != nil || !ok || got.RefreshToken != refresh {
			t.Fatalf("after the wrong keys: %+v, %v, %v", got, ok, err)
		}
		if bad, err := db.SealedAccounts(ctx); err != nil || strings.Join(bad, ",") != "home" {
			t.Errorf("SealedAccounts with the right key = %v, %v; want home (its row is work's copy)", bad, err)
		}
		if _, err := Open(ctx, path, Options{TokenKey: []byte("short")}); err == nil || !strings.Contains(err.Error(), "32") {
			t.Errorf("a 5-byte key: %v", err)
		}
	})
}

// TestPlainTokensSealedOnOpen: tokens a cardbridge before migration 0005
// stored as they are read back (also read-only and without a key), and the
// first writable Open with the key seals them, in the file too.
func TestPlainTokensSealedOnOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const rt = "plain-refresh-token-from-before"
	if _, err := db.sql.Exec(`INSERT INTO accounts (name, access_token, refresh_token, updated_at, sealed) VALUES ('work', 'plain-at', ?, 1, 0),
('synced-only', '', '', 1, 0)`, rt); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := db.LoadToken(ctx, "work"); err != nil || !ok || got.RefreshToken != rt {
		t.Fatalf("plain row without a key: %+v %v %v", got, ok, err)
	}
	db.Close()
	if !bytes.Contains(rawFile(t, path), []byte(rt)) {
		t.Fatal("the fixture's token is not in the file: the check below would prove nothing")
	}
	db, err = Open(ctx, path, Options{TokenKey: testTokenKey()})
	if err != nil {
		t.Fatal(err)
	}
	var sealed int
	var col string
	db.sql.QueryRow(`SELECT sealed, refresh_token FROM accounts WHERE name = 'work'`).Scan(&sealed, &col)
	if sealed != 1 || strings.Contains(col, "plain") {
		t.Fatalf("after Open with the key: sealed %d, column %q", sealed, col)
	}
	if got, ok, err := db.LoadToken(ctx, "work"); err != nil || !ok || got.RefreshToken != rt || got.AccessToken != "plain-at" {
		t.Fatalf("sealed row: %+v %v %v", got, ok, err)
	}
	// Nothing of the plain token is left in the file or the WAL (freed
	// space overwritten, the WAL truncated).
	if bytes.Contains(rawFile(t, path), []byte(rt)) {
		t.Error("the plain token is in the file while the database is open")
	}
	db.Close()
	if bytes.Contains(rawFile(t, path), []byte(rt)) {
		t.Error("the plain token is still in the file after sealing")
	}
}

// TestLoadTokenKey: the environment first, then the systemd credential,
// then the key file (created 0600 only when asked); bad keys are errors
// naming their place.
func TestLoadTokenKey(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{9}, TokenKeySize)
	b64 := base64.StdEncoding.EncodeToString(key)
	credDir := filepath.Join(dir, "creds")
	os.MkdirAll(credDir, 0o700)
	os.WriteFile(filepath.Join(credDir, CredentialName), key, 0o600) // binary credential
	fileKey := bytes.Repeat([]byte{5}, TokenKeySize)
	keyFile := filepath.Join(dir, "state.key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(fileKey)+"\n"), 0o600)
	badFile := filepath.Join(dir, "bad.key")
	os.WriteFile(badFile, []byte("c2hvcnQ=\n"), 0o600)

	cases := []struct {
		name    string
		src     KeySource
		want    []byte
		from    string
		errSays string
		creates string
	}{
		{name: "env", src: KeySource{Env: []string{EnvSecretKey + "=" + b64, "CREDENTIALS_DIRECTORY=" + credDir}, File: keyFile}, want: key, from: "environment variable"},
		{name: "env url alphabet unpadded", src: KeySource{Env: []string{EnvSecretKey + "=" + base64.RawURLEncoding.EncodeToString(key)}}, want: key, from: "environment"},
		{name: "env bad", src: KeySource{Env: []string{EnvSecretKey + "=c2hvcnQ="}}, errSays: EnvSecretKey},
		{name: "env not base64", src: KeySource{Env: []string{EnvSecretKey + "=not base64!"}}, errSays: "not base64"},
		{name: "credential", src: KeySource{Env: []string{"CREDENTIALS_DIRECTORY=" + credDir}, File: keyFile}, want: key, from: "systemd credential"},
		{name: "credential dir without ours", src: KeySource{Env: []string{"CREDENTIALS_DIRECTORY=" + dir + "/none"}, File: keyFile}, want: fileKey, from: "key file"},
		{name: "file", src: KeySource{File: keyFile}, want: fileKey, from: "the key file " + keyFile},
		{name: "bad file", src: KeySource{File: badFile}, errSays: badFile},
		{name: "missing, not created", src: KeySource{File: filepath.Join(dir, "none.key")}, from: "does not exist"},
		{name: "missing, created", src: KeySource{File: filepath.Join(dir, "sub", "new.key"), Create: true}, from: "created now", creates: filepath.Join(dir, "sub", "new.key")},
		{name: "uncreatable", src: KeySource{File: "/proc/cardbridge/state.key", Create: true}, errSays: "create the key file /proc/cardbridge/state.key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, from, err := LoadTokenKey(c.src)
			if c.errSays != "" {
				if err == nil || !strings.Contains(err.Error(), c.errSays) || c.src.Create != errors.Is(err, ErrKeyFileNotCreated) {
					t.Fatalf("err = %v, want one saying %q", err, c.errSays)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(from, c.from) {
				t.Errorf("from = %q, want %q in it", from, c.from)
			}
			if c.creates != "" {
				fi, err := os.Stat(c.creates)
				if err != nil || fi.Mode().Perm() != 0o600 || len(got) != TokenKeySize {
					t.Fatalf("created key file: %v, %v, %d bytes", fi, err, len(got))
				}
				again, from2, err := LoadTokenKey(KeySource{File: c.creates, Create: true})
				if err != nil || !bytes.Equal(again, got) || strings.Contains(from2, "created") {
					t.Fatalf("the created key does not read back: %v %q", err, from2)
				}
				return
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("key = %x, want %x", got, c.want)
			}
		})
	}
}
