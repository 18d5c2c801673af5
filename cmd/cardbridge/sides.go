package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine"
	davclient "github.com/cardbridge/cardbridge/side/carddav"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/side/o365"
	"github.com/cardbridge/cardbridge/side/store"
	"github.com/cardbridge/cardbridge/side/vdir"
	"github.com/cardbridge/cardbridge/state"
)

// openSide turns a side's configuration into a engine.Side. In a dry run
// nothing may be created: a vdir that does not exist yet is shown as an
// empty side.
func (a *app) openSide(ctx context.Context, cfg *config.Config, db *state.DB, sc config.Side, dryRun bool) (engine.Side, error) {
	log := a.log
	switch sc.Type {
	case "server":
		return store.New(db, sc.User, sc.Addressbook, store.Options{})
	case "carddav":
		pw, err := a.password(ctx, sc)
		if err != nil {
			return nil, err
		}
		hc, err := httpClientFor(sc)
		if err != nil {
			return nil, err
		}
		return davclient.New(ctx, davclient.Options{URL: sc.URL, Username: sc.Username, Password: pw,
			AddressBook: sc.Addressbook, Create: sc.Create && !dryRun, HTTPClient: hc, MultigetChunk: sc.MultigetChunk, Logger: log})
	case "o365":
		acc, ok := cfg.Account(sc.Account)
		if !ok {
			return nil, fmt.Errorf("no account %q", sc.Account)
		}
		c, err := a.graphClient(ctx, acc, db)
		if err != nil {
			return nil, err
		}
		o := o365.Options{Client: c, Folder: sc.Folder, NoPhotos: sc.NoPhotos, Account: sc.Account, Target: o365Target(acc), Logger: log,
			NoDelta: acc.Cloud == "china"} // 21Vianet has no v1.0 contact delta
		if db != nil {
			o.Memory = db // what the account refuses for good (photos on personal accounts)
		}
		return o365.New(ctx, o)
	case "vdir":
		if dryRun {
			if _, err := os.Stat(sc.Path); errors.Is(err, fs.ErrNotExist) {
				m := mem.New(sc.Path + " (does not exist yet)")
				if abs, err := filepath.Abs(sc.Path); err == nil {
					m.SetIdentity("vdir " + abs) // as vdir.Side states it
				}
				return m, nil
			}
		}
		return vdir.New(sc.Path, vdir.Options{Create: !dryRun, Logger: log})
	default:
		return nil, fmt.Errorf("side type %q is not available in this version of cardbridge", sc.Type)
	}
}

// o365Target names what an account's Graph client acts for, for the
// identity of its sides (engine.Identifier): the cloud, the tenant and the
// mailbox (`user:`; "me" for a delegated flow without a login hint).
func o365Target(acc config.Account) string {
	cloud, mailbox := acc.Cloud, acc.User
	if cloud == "" {
		cloud = "global"
	}
	if mailbox == "" {
		mailbox = "me"
	}
	return "cloud " + cloud + " tenant " + strings.ToLower(acc.Tenant) + " mailbox " + strings.ToLower(mailbox)
}

// enginePair builds the engine's view of a configured pair.
func (ap *app) enginePair(ctx context.Context, cfg *config.Config, db *state.DB, p config.Pair, dryRun bool) (engine.Pair, error) {
	a, err := ap.openSide(ctx, cfg, db, p.A, dryRun)
	if err != nil {
		return engine.Pair{}, fmt.Errorf("pair %s: side a: %w", p.Name, err)
	}
	b, err := ap.openSide(ctx, cfg, db, p.B, dryRun)
	if err != nil {
		closeSide(a)
		return engine.Pair{}, fmt.Errorf("pair %s: side b: %w", p.Name, err)
	}
	limit := p.MaxDelete
	return engine.Pair{
		Name: p.Name, A: a, B: b,
		Direction: engine.Direction(p.Direction),
		Policy:    engine.Policy(p.Conflict),
		MaxDelete: limit.Allowed,
		Trash:     trashLimits(cfg.TrashOf(p.Name)),
	}, nil
}

// trashLimits is the state's form of a pair's trash settings.
func trashLimits(t config.Trash) state.TrashLimits {
	return state.TrashLimits{Retention: t.Retention, MaxBytes: t.MaxSize}
}

func closeSide(s engine.Side) {
	if c, ok := s.(engine.Closer); ok {
		c.Close()
	}
}

// openState opens the state database of cfg with the key that seals its
// Office 365 tokens (state.LoadTokenKey: CARDBRIDGE_SECRET_KEY, the
// systemd credential, or cfg.SecretKeyFile, which a writable open creates
// when there is no key yet). A dry run opens it read-only, or an empty
// in-memory one when the file does not exist yet, so that it writes
// nothing anywhere (no key file either). A key file that cannot be created
// leaves the database open without a key (a warning says why; the errors
// of token operations say it again); a key that is there but unreadable or
// malformed is an error.
func (a *app) openState(ctx context.Context, cfg *config.Config, readOnly bool) (*state.DB, error) {
	path, memory := cfg.State, false
	if readOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			path, memory, readOnly = "", true, false
		}
	}
	src := state.KeySource{Env: a.env, File: cfg.SecretKeyFile, Create: !readOnly && !memory}
	key, from, err := state.LoadTokenKey(src)
	if errors.Is(err, state.ErrKeyFileNotCreated) {
		a.log.Warn("no key to seal the Office 365 tokens: they can be neither stored nor read", "err", err)
		key, from, err = nil, "no key: "+err.Error(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("the key that seals the Office 365 tokens: %w", err)
	}
	a.log.Debug("state: token key", "from", from)
	db, err := state.Open(ctx, path, state.Options{ReadOnly: readOnly, Logger: a.log, TokenKey: key, TokenKeySource: from})
	if err != nil {
		return nil, err
	}
	// Tokens that do not open: a key file lost (and just made anew), or
	// another key given. They stay; say so once, loudly.
	if bad, err := db.SealedAccounts(ctx); err == nil && len(bad) > 0 {
		msg := fmt.Sprintf("the Office 365 tokens of %s do not open with %s: restore the key they were sealed with, or sign those accounts in again (cardbridge logout, then login)",
			strings.Join(bad, ", "), from)
		a.log.Warn(msg)
	}
	return db, nil
}

// password finds a CardDAV side's password: from the environment variable
// password_env, the file password_file (first line) or the output of
// password_command (first line, run by sh with a time limit). The value
// never appears in an error.
func (a *app) password(ctx context.Context, sc config.Side) (string, error) {
	switch {
	case sc.PasswordEnv != "":
		for _, kv := range a.env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == sc.PasswordEnv {
				return v, nil
			}
		}
		return "", fmt.Errorf("password_env: the environment variable %s is not set", sc.PasswordEnv)
	case sc.PasswordFile != "":
		raw, err := os.ReadFile(sc.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		line, _, _ := strings.Cut(string(raw), "\n")
		return strings.TrimRight(line, "\r"), nil
	case sc.PasswordCommand != "":
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(cctx, "sh", "-c", sc.PasswordCommand).Output()
		if err != nil {
			return "", fmt.Errorf("password_command %q failed: %v", sc.PasswordCommand, err)
		}
		line, _, _ := strings.Cut(string(out), "\n")
		return strings.TrimRight(line, "\r"), nil
	}
	return "", nil
}

// httpClientFor builds the HTTP client of a CardDAV side: the system's
// roots plus ca_file, or no verification with insecure_skip_verify.
func httpClientFor(sc config.Side) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if sc.CAFile != "" {
		pem, err := os.ReadFile(sc.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", sc.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if sc.InsecureSkipVerify {
		tr.TLSClientConfig.InsecureSkipVerify = true
	}
	return &http.Client{Transport: tr}, nil
}
