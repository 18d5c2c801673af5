package pairs

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
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/o365/graph"
	davclient "github.com/cardbridge/cardbridge/side/carddav"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/side/o365"
	"github.com/cardbridge/cardbridge/side/store"
	"github.com/cardbridge/cardbridge/side/vdir"
	"github.com/cardbridge/cardbridge/state"
)

// passwordCommandTimeout bounds a CardDAV side's password_command.
const passwordCommandTimeout = 30 * time.Second

// OpenSide turns a side's configuration into a engine.Side (cfg gives the
// accounts of o365 sides). In a dry run nothing may be created: a vdir
// that does not exist yet is shown as an empty side, and a CardDAV
// address book is not created. readOnly says the pair only reads the side
// (its direction runs from it): a read-only book of the server is refused
// without it.
func (r *Runner) OpenSide(ctx context.Context, cfg *config.Config, sc config.Side, dryRun, readOnly bool) (engine.Side, error) {
	switch sc.Type {
	case config.SideServer:
		return store.New(r.o.DB, sc.User, sc.Addressbook, store.Options{ReadOnly: readOnly})
	case config.SideCardDAV:
		pw, err := r.password(ctx, sc)
		if err != nil {
			return nil, err
		}
		hc, err := davHTTPClient(sc)
		if err != nil {
			return nil, err
		}
		return davclient.New(ctx, davclient.Options{URL: sc.URL, Username: sc.Username, Password: pw,
			AddressBook: sc.Addressbook, Create: sc.Create && !dryRun, HTTPClient: hc, MultigetChunk: sc.MultigetChunk, Logger: r.log})
	case config.SideO365:
		acc, ok := cfg.Account(sc.Account)
		if !ok {
			return nil, fmt.Errorf("no account %q", sc.Account)
		}
		c, err := r.GraphClient(ctx, acc)
		if err != nil {
			return nil, err
		}
		return o365.New(ctx, o365.Options{Client: c, Folder: sc.Folder, NoPhotos: sc.NoPhotos, Account: sc.Account, User: acc.User,
			Target: o365Target(acc), Logger: r.log,
			NoDelta: acc.Cloud == "china", // 21Vianet has no v1.0 contact delta
			Memory:  r.o.DB,               // what the account refuses for good (photos on personal accounts)
		})
	case config.SideVdir:
		if dryRun {
			if _, err := os.Stat(sc.Path); errors.Is(err, fs.ErrNotExist) {
				m := mem.New(sc.Path + " (does not exist yet)")
				if abs, err := filepath.Abs(sc.Path); err == nil {
					m.SetIdentity(string(config.SideVdir) + " " + abs) // as vdir.Side states it
				}
				return m, nil
			}
		}
		return vdir.New(sc.Path, vdir.Options{Create: !dryRun, Logger: r.log})
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

// GraphClient builds the Graph client of an account: its token source
// (tokens in the state) and the one request path, whose in-flight limit is
// the process's one for the account's mailbox (see mailboxKey).
func (r *Runner) GraphClient(ctx context.Context, acc config.Account) (*graph.Client, error) {
	ep, err := auth.EndpointsFor(acc)
	if err != nil {
		return nil, err
	}
	hc := r.o.HTTPClient
	var src *auth.Source
	if acc.Mailboxes != nil {
		src, err = r.tokenSource(acc) // one app-only token for all the mailboxes
	} else {
		src, err = auth.NewSource(acc, auth.StateStore{DB: r.o.DB}, hc, r.log)
	}
	if err != nil {
		return nil, err
	}
	mailbox := "me"
	if AppOnly(acc) {
		mailbox = acc.User
	}
	return graph.New(graph.Options{BaseURL: ep.Graph, Mailbox: mailbox, Tokens: src, HTTPClient: hc, Logger: r.log, MaxPageSize: 1000,
		Limiters: r.o.Limiters, AppID: acc.ClientID, MailboxKey: mailboxKey(ctx, acc, r.o.DB)})
}

// AppOnly reports whether acc signs in as an app (client secret or
// certificate), without a user's sign-in.
func AppOnly(acc config.Account) bool {
	return acc.Flow == auth.FlowClientSecret || acc.Flow == auth.FlowClientCertificate
}

// mailboxKey names the mailbox an account's requests reach, for the
// process's shared in-flight limit (Microsoft's 4 concurrent requests per
// app per mailbox; the Graph host and the client id complete the key).
// App-only flows name it in user:. A delegated flow reaches the signed-in
// user's mailbox: the user its tokens were issued to, as stored in state
// at sign-in (the UPN of the id token), else the account's user:, else the
// account's name (one limit per account while nobody signed in). So two
// accounts, from the config or the web page, signed in as the same user
// with the same app share one limit, and an app-only account of that app
// naming the user by UPN shares it too; a mailbox named by its object id
// in one account and by its UPN in another is not recognised as the same.
// Compared without case.
func mailboxKey(ctx context.Context, acc config.Account, db *state.DB) string {
	if AppOnly(acc) {
		if acc.User != "" {
			return acc.User
		}
		return "account:" + acc.Name
	}
	if t, ok, err := db.LoadToken(ctx, acc.Name); err == nil && ok && t.User != "" {
		return t.User
	}
	if acc.User != "" {
		return acc.User
	}
	return "account:" + acc.Name
}

// password finds a CardDAV side's password: from the environment variable
// password_env, the file password_file (first line) or the output of
// password_command (first line, run by sh with a time limit). The value
// never appears in an error.
func (r *Runner) password(ctx context.Context, sc config.Side) (string, error) {
	switch {
	case sc.PasswordEnv != "":
		for _, kv := range r.o.Env {
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
		cctx, cancel := context.WithTimeout(ctx, passwordCommandTimeout)
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

// davHTTPClient builds the HTTP client of a CardDAV side: the system's
// roots plus ca_file, or no verification with insecure_skip_verify.
func davHTTPClient(sc config.Side) (*http.Client, error) {
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
