// Package config loads and validates cardbridge's configuration.
//
// The configuration comes from three layers, later ones winning:
//
//  1. a YAML file (see DefaultPath), read with viper;
//  2. CARDBRIDGE_* environment variables (see "Environment" below);
//  3. values set by the command line (Options.Set), e.g. from flags.
//
// The result is decoded into plain structs (Config, Account, Pair, Side,
// Server), defaults are applied and everything is validated before anything
// runs. A bad configuration is refused with an *Error that lists every
// problem found, one per line, each naming the file, the dotted key (for
// example pairs.work.conflict) and what was expected. Unknown keys are
// problems too, with a suggestion when a known key is close.
//
// # Names
//
// Viper lower-cases keys, so pair and account names are case-insensitive:
// "Work" and "work" are the same pair, and Config holds the lower-case form.
// Two names in one file that differ only in case are refused. Pair and
// account names must match [a-z0-9][a-z0-9_-]*.
//
// # Paths
//
// A leading "~" (alone or followed by "/") in a path (state, a vdir path,
// certificate_file, client_secret_file, tls_cert, tls_key, ca_file,
// password_file) expands to the home directory ($HOME of the environment
// given to Load). A relative path written in the file is relative to the
// directory of the file; a relative path from the environment or the
// command line is relative to the working directory. Paths are cleaned and
// made absolute. state may instead be a PostgreSQL URL
// (postgres://user@host/db?sslmode=...), kept as it is.
//
// # Environment
//
// Every key can be set from the environment: the variable name after the
// CARDBRIDGE_ prefix is lower-cased, split into words on "_" and matched
// against the configuration tree, for example
//
//	CARDBRIDGE_STATE=/tmp/s.db                 state
//	CARDBRIDGE_PAIRS_WORK_CONFLICT=newest      pairs.work.conflict
//	CARDBRIDGE_PAIRS_WORK_MAX_DELETE=10        pairs.work.max_delete
//	CARDBRIDGE_PAIRS_MY_PAIR_B_PATH=/x         pairs.my_pair.b.path
//	CARDBRIDGE_ACCOUNTS_WORK_CLIENT_ID=...     accounts.work.client_id
//
// Because both schema keys (max_delete, client_id, password_env) and names
// (my_pair) may contain underscores, the match is resolved like this, level
// by level:
//
//   - where the schema has fixed keys, the longest run of words that forms a
//     key is tried first, falling back to shorter ones if the rest of the
//     name then matches nothing;
//   - where names are expected (under accounts and pairs), names that exist
//     in the file are tried first, longest first, with the same fallback;
//   - only if no existing name fits may the variable create a new pair or
//     account, and only if exactly one split of the words into
//     "name" + "rest" makes the rest a valid key path
//     (CARDBRIDGE_PAIRS_P1_A_TYPE=vdir creates pair p1). If several splits
//     fit, the variable is refused as ambiguous; define the name in the file
//     first to settle it.
//
// A CARDBRIDGE_* variable that matches no key is an error naming the
// variable, except CARDBRIDGE_CONFIG (the config file path) and variables
// named by a client_secret_env or password_env key (they hold secrets, for
// example CARDBRIDGE_WORK_SECRET). Variables with an empty value are
// ignored, as viper does. Values are strings, converted by the type of the
// key they set (true/false, integers, durations, limits).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// EnvPrefix is the prefix of the environment variables that set keys.
const EnvPrefix = "CARDBRIDGE_"

// EnvConfig is the environment variable that names the config file.
const EnvConfig = "CARDBRIDGE_CONFIG"

// EnvSecretKey is the environment variable that may hold the key sealing
// the tokens in the state (base64); it is not a config key.
const EnvSecretKey = "CARDBRIDGE_SECRET_KEY"

// keyDelim separates key path elements for viper.
const keyDelim = "::"

// DefaultListen is the default address of the built-in CardDAV server.
const DefaultListen = "127.0.0.1:5232"

// Config is a loaded, validated configuration with defaults applied.
type Config struct {
	File     string             // the file loaded ("" when none)
	State    string             // state database path or PostgreSQL URL (default applied)
	Accounts map[string]Account // by lower-case name
	Pairs    map[string]Pair    // by lower-case name
	Server   Server

	// SecretKeyFile is the key that seals Office 365 tokens in the state
	// (secret_key_file; default state.key beside the config file, or
	// beside the state file when there is no config file). The CLI reads
	// CARDBRIDGE_SECRET_KEY and systemd credentials before it.
	SecretKeyFile string

	// Trash is the top-level trash_retention and trash_max_size (defaults
	// applied): the trash of every pair that sets neither, web-made pairs
	// included.
	Trash Trash
}

// TrashOf is how much of pair name's trash is kept: the pair's own
// trash_retention / trash_max_size, else the top-level ones (a pair no
// longer configured, or made on the web page, gets those).
func (c *Config) TrashOf(name string) Trash {
	if p, ok := c.Pair(name); ok && p.Trash != nil {
		return *p.Trash
	}
	return c.Trash
}

// PairNames returns the names of the configured pairs, sorted.
func (c *Config) PairNames() []string { return sortedKeys(c.Pairs) }

// AccountNames returns the names of the configured accounts, sorted.
func (c *Config) AccountNames() []string { return sortedKeys(c.Accounts) }

// Pair returns the pair called name; names are case-insensitive.
func (c *Config) Pair(name string) (Pair, bool) {
	p, ok := c.Pairs[strings.ToLower(name)]
	return p, ok
}

// Account returns the account called name; names are case-insensitive.
func (c *Config) Account(name string) (Account, bool) {
	a, ok := c.Accounts[strings.ToLower(name)]
	return a, ok
}

// FindAccount is Account with an error for a name that is not configured,
// naming the accounts there are.
func (c *Config) FindAccount(name string) (Account, error) {
	a, ok := c.Account(name)
	if !ok {
		return a, fmt.Errorf("no account %q in the configuration (accounts: %v)", name, c.AccountNames())
	}
	return a, nil
}

// Account is one Office 365 connection (a key under accounts).
type Account struct {
	Name string // the key under accounts, lower-case

	// Tenant is the tenant id or domain (or common, organizations,
	// consumers for apps that allow them); required, except that the
	// app-only flows default it to the domain of a user like
	// alice@contoso.com.
	Tenant string
	// ClientID is the application (client) id, a GUID.
	ClientID string
	// Flow is device (default), browser, client-secret or
	// client-certificate.
	Flow string

	// ClientSecretEnv names the environment variable holding the client
	// secret (flow client-secret).
	ClientSecretEnv string
	// ClientSecretFile is a file holding the client secret (flow
	// client-secret).
	ClientSecretFile string
	// CertificateFile is a PEM file with the certificate and private key
	// (flow client-certificate).
	CertificateFile string
	// Confidential is set for the delegated accounts of a confidential
	// client (the web app of server.microsoft_sign_in; not a key of the
	// file): its client secret or certificate authenticates every refresh.
	Confidential bool
	// User is whose mailbox an app-only flow reads (required there); with
	// the delegated flows it is a login hint.
	User string

	// Cloud is global (default), usgov, usgov-dod or china.
	Cloud string
	// LoginURL overrides the authority host (absolute https URL; http only
	// for loopback hosts).
	LoginURL string
	// GraphURL overrides the Graph base URL including its version (absolute
	// https URL; http only for loopback hosts).
	GraphURL string

	// Mailboxes is the account's mailboxes (with mailbox_keep,
	// mailbox_concurrency, mailbox_every): one pair per mailbox of the
	// tenant; nil when not set.
	Mailboxes *Mailboxes

	// Directory, when not nil, serves the tenant's directory as the
	// read-only Directory address book to the tenant's users (key
	// directory: true or a mapping); it needs an app-only flow and the
	// tenant as its id (GUID, lower case here).
	Directory *DirectoryBook
}

// DirectoryBook is accounts.NAME.directory: which people of the tenant
// the Directory book lists. The zero value lists enabled members with a
// mailbox.
type DirectoryBook struct {
	// Guests includes guests (userType Guest).
	Guests bool
	// Disabled includes disabled accounts.
	Disabled bool
	// Group, when set, limits the book to the direct members of this
	// group (its object id, lower case); "" lists the whole tenant.
	Group string
	// Every is how often serve reads the tenant's directory for the book:
	// the account's mailbox_every (default DefaultMailboxEvery), the one
	// interval of its users delta rounds whether or not it has mailboxes.
	Every time.Duration
}

// Pair is two stores kept in step (a key under pairs).
type Pair struct {
	Name string // the key under pairs, lower-case
	A, B Side
	// Direction is two-way (default), a-to-b or b-to-a.
	Direction string
	// Conflict is merge (default), newest, a-wins, b-wins, keep-both or
	// manual.
	Conflict string
	// MaxDelete is how many deletions a run may make on a side; default
	// 25%.
	MaxDelete Limit
	// Every is how often serve and sync --every run the pair; 0 when unset
	// (or set to 0). When set it is at least one minute.
	Every time.Duration
	// Trash is the pair's trash_retention and trash_max_size (a key it
	// does not set comes from the top level); nil when it sets neither:
	// see Config.TrashOf.
	Trash *Trash
}

// Trash says how much of a pair's trash is kept: entries older than
// Retention are purged (at the end of each sync of the pair, daily by
// serve, and by `cardbridge trash purge`), and beyond MaxSize bytes of
// vCards the oldest go, the newest being kept.
type Trash struct {
	// Retention is trash_retention (default 30 days); 0 ("off") keeps
	// entries whatever their age.
	Retention time.Duration
	// MaxSize is trash_max_size in bytes (default 100 MB); 0 ("off") is no
	// cap.
	MaxSize int64
}

// DefaultTrash is the trash kept when the configuration says nothing: 30
// days, at most 100 MB per pair.
func DefaultTrash() Trash { return Trash{Retention: 30 * 24 * time.Hour, MaxSize: 100_000_000} }

// SideType is the kind of store a side is (a side's `type:`).
type SideType string

// The side types.
const (
	// SideVdir is a vCard directory (one .vcf file per contact).
	SideVdir SideType = "vdir"
	// SideO365 is an Office 365 contact folder, through Microsoft Graph.
	SideO365 SideType = "o365"
	// SideCardDAV is an address book of a remote CardDAV server.
	SideCardDAV SideType = "carddav"
	// SideServer is an address book of the built-in CardDAV server.
	SideServer SideType = "server"
)

// SideTypes is every side type, in the order error messages list them.
func SideTypes() []SideType { return []SideType{SideVdir, SideO365, SideCardDAV, SideServer} }

// Side is one store of a pair. Which fields are used depends on Type; a key
// that the type does not use is refused.
type Side struct {
	// Type is the kind of store (SideVdir, SideO365, SideCardDAV or
	// SideServer).
	Type SideType

	// Path is the vCard directory (vdir).
	Path string

	// Account names an entry of Config.Accounts (o365, lower-case).
	Account string
	// Folder is the contact folder's display name; "" is the default
	// folder (o365).
	Folder string
	// NoPhotos (key `photos: false`, o365) skips reading contact photos:
	// each photo costs Graph one request, which a first import of a large
	// mailbox may not want to spend.
	NoPhotos bool

	// URL is the CardDAV server or address book URL (carddav).
	URL string
	// Username is the CardDAV user name (carddav).
	Username string
	// PasswordEnv, PasswordFile and PasswordCommand say where the password
	// comes from; at most one is set (carddav).
	PasswordEnv, PasswordFile, PasswordCommand string
	// Addressbook is the address book name or path (carddav, server).
	Addressbook string
	// CAFile is a PEM bundle of extra trusted CAs (carddav).
	CAFile string
	// InsecureSkipVerify turns off TLS certificate checks (carddav).
	InsecureSkipVerify bool
	// Create creates the address book if it does not exist (carddav).
	Create bool
	// MultigetChunk is how many items one addressbook-multiget asks for;
	// 0 is the side's default (carddav).
	MultigetChunk int

	// User is the built-in server's user (server).
	User string
}

// Server configures the built-in CardDAV server (cardbridge serve).
type Server struct {
	Listen    string // host:port, default 127.0.0.1:5232
	TLSCert   string // PEM certificate file; set with TLSKey or not at all
	TLSKey    string // PEM key file
	PublicURL string // external URL behind a proxy ("" = derived from Listen)
	// MaxMultigetHrefs is the most hrefs one addressbook-multiget may name
	// (server.max_multiget_hrefs); 0 is the server's default, 10,000.
	MaxMultigetHrefs int
	// TrustedProxies are server.trusted_proxies: IPs and CIDR prefixes whose
	// X-Forwarded-For is believed (none by default, loopback included).
	TrustedProxies []string
	// Admins are server.admins: server users who may read /healthz's
	// details (pair names, errors) and who see the web page's
	// administrator view (/ui/admin: all users, their app passwords,
	// the directory state, errors).
	Admins []string
	// SessionLifetime is server.session_lifetime: how long a web session
	// lasts at most after sign-in (0 = DefaultSessionLifetime).
	SessionLifetime time.Duration
	// MaxConnections is server.max_connections: connections served at once;
	// more wait until one closes (0 = DefaultMaxConnections).
	MaxConnections int
	// LoginFreeFailures and LoginMaxDelay are server.login_free_failures
	// and login_max_delay: failed logins answered without delay, and the
	// cap of the growing delay after them (0 = authguard's defaults).
	LoginFreeFailures int
	LoginMaxDelay     time.Duration
	// Connect is the Office 365 app behind the web page's "Connect Office
	// 365" button (server.connect); unset when ClientID is "".
	Connect Connect
	// MicrosoftSignIn is server.microsoft_sign_in: the app behind the sign-in
	// page's "Sign in with Microsoft" button; unset when ClientID is "".
	MicrosoftSignIn MicrosoftSignIn
	// NoLocalPasswords is server.local_passwords: false: the web page's
	// sign-in takes no password (Sign in with Microsoft only).
	NoLocalPasswords bool
}

// DefaultLoginURL is the identity platform's host of the global cloud.
const DefaultLoginURL = "https://login.microsoftonline.com"

// MicrosoftSignIn is the app registration (a confidential web app) the web
// page's "Sign in with Microsoft" signs people in with (OpenID Connect).
// Only people of Tenants may sign in; they are known by tenant id and
// object id.
type MicrosoftSignIn struct {
	ClientID         string   // the application (client) id, a GUID; "" = no button
	Tenants          []string // the tenant ids (GUIDs, lower case) whose people may sign in; at least one
	ClientSecretEnv  string   // the environment variable holding the client secret
	ClientSecretFile string   // or the file holding it (or CertificateFile)
	// CertificateFile is the PEM file (certificate and its RSA key) of the
	// app's certificate credential, instead of a client secret: the code
	// is redeemed with a signed client assertion (private_key_jwt).
	CertificateFile string
	LoginURL        string // the identity platform's base URL ("" = DefaultLoginURL)
	// GraphURL is Graph's base URL for the contacts of Contacts ("" = the
	// global cloud's).
	GraphURL string
	// Contacts is server.microsoft_sign_in.contacts: the sign-in also asks
	// for Contacts.ReadWrite (and offline_access) and keeps the tokens as
	// the user's web connection, so that "their Office 365 contacts ⇄ a
	// new address book" is one click, without a second sign-in.
	Contacts bool
	// UserNames is how a first sign-in names the local user: "local-part"
	// (alice for alice@contoso.com, the default) or "upn" (the whole UPN).
	UserNames string
}

// Account is the delegated account of the sign-in app under name for a
// person of tenant tid: what the tokens a sign-in with Contacts stored are
// refreshed and synced with (the app's credential goes with every refresh,
// as the app is a confidential client).
func (m MicrosoftSignIn) Account(name, tid string) Account {
	return Account{Name: name, Tenant: tid, ClientID: m.ClientID, Flow: "browser", LoginURL: m.LoginURL, GraphURL: m.GraphURL,
		ClientSecretEnv: m.ClientSecretEnv, ClientSecretFile: m.ClientSecretFile, CertificateFile: m.CertificateFile, Confidential: true}
}

// Configured reports whether server.microsoft_sign_in names an app.
func (m MicrosoftSignIn) Configured() bool { return m.ClientID != "" }

// Authority is the identity platform's base URL (LoginURL or
// DefaultLoginURL), without a trailing slash.
func (m MicrosoftSignIn) Authority() string {
	if m.LoginURL != "" {
		return strings.TrimRight(m.LoginURL, "/")
	}
	return DefaultLoginURL
}

// Allowed reports whether tenant id tid is one of Tenants.
func (m MicrosoftSignIn) Allowed(tid string) bool {
	for _, t := range m.Tenants {
		if strings.EqualFold(t, tid) {
			return true
		}
	}
	return false
}

// Secret reads the client secret from ClientSecretEnv or ClientSecretFile
// (surrounding white space dropped); an error names where it looked.
func (m MicrosoftSignIn) Secret() (string, error) {
	var s string
	switch {
	case m.ClientSecretEnv != "":
		s = strings.TrimSpace(os.Getenv(m.ClientSecretEnv))
		if s == "" {
			return "", fmt.Errorf("server.microsoft_sign_in: environment variable %s (client_secret_env) is empty or unset", m.ClientSecretEnv)
		}
	case m.ClientSecretFile != "":
		b, err := os.ReadFile(m.ClientSecretFile)
		if err != nil {
			return "", fmt.Errorf("server.microsoft_sign_in: client_secret_file: %w", err)
		}
		if s = strings.TrimSpace(string(b)); s == "" {
			return "", fmt.Errorf("server.microsoft_sign_in: client_secret_file %s is empty", m.ClientSecretFile)
		}
	default:
		return "", errors.New("server.microsoft_sign_in: no client secret configured (client_secret_env or client_secret_file)")
	}
	return s, nil
}

// Connect is the app registration the web UI of `cardbridge serve` signs
// its users in with (authorization code with PKCE, redirect URI
// server.public_url + "/ui/connect/callback").
type Connect struct {
	ClientID string // the application (client) id, a GUID; "" = no connect button
	Tenant   string // as under accounts; required when ClientID is set
	Cloud    string // as under accounts; default global
	LoginURL string // as under accounts
	GraphURL string // as under accounts
}

// Configured reports whether server.connect names an app.
func (c Connect) Configured() bool { return c.ClientID != "" }

// Account is the delegated (browser-flow) account of the connect app under
// the given name: what a web user's connection is synced with.
func (c Connect) Account(name string) Account {
	return Account{Name: name, Tenant: c.Tenant, ClientID: c.ClientID, Flow: "browser",
		Cloud: c.Cloud, LoginURL: c.LoginURL, GraphURL: c.GraphURL}
}

// Error is a refused configuration: every problem found.
type Error struct {
	File     string // the config file ("" when none)
	Problems []Problem
	cause    error
}

// Problem is one thing wrong with a configuration.
type Problem struct {
	Key string // dotted key path (pairs.work.conflict), an environment variable, or "" for the file as a whole
	Msg string // what is wrong / what was expected
}

// Error prints one "config FILE: key: problem" line per problem.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("config")
		if e.File != "" {
			b.WriteString(" " + e.File)
		}
		b.WriteString(": ")
		if p.Key != "" {
			b.WriteString(p.Key + ": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Unwrap returns the underlying error when the file could not be read
// (errors.Is(err, fs.ErrNotExist) works), else nil.
func (e *Error) Unwrap() error { return e.cause }

// Options are the inputs of LoadWith.
type Options struct {
	// Path is the config file; "" means DefaultPath(Env).
	Path string
	// Explicit says Path came from the user (--config): a missing file is
	// then an error. A missing file at the default path is an empty
	// configuration, unless the path came from $CARDBRIDGE_CONFIG.
	Explicit bool
	// Env is the environment, as os.Environ() returns it.
	Env []string
	// Set holds values from the command line by dotted key
	// ("pairs.work.every": "15m"); they win over file and environment.
	// Unknown keys are problems like any other.
	Set map[string]string
	// IgnoreEnv lists further CARDBRIDGE_* variables that are not config
	// keys (for example ones the CLI reads itself).
	IgnoreEnv []string
}

// Load reads the file at path (path "" = DefaultPath, missing there = empty
// config), overlays the CARDBRIDGE_* variables of env, applies defaults and
// validates. explicit tells whether the path came from the user (--config),
// so a missing file is an error. A refused configuration is an *Error.
func Load(path string, explicit bool, env []string) (*Config, error) {
	return LoadWith(Options{Path: path, Explicit: explicit, Env: env})
}

// LoadWith is Load with command-line values and further options.
func LoadWith(o Options) (*Config, error) {
	envm := envMap(o.Env)
	path, explicit := o.Path, o.Explicit && o.Path != ""
	if path == "" {
		path = DefaultPath(o.Env)
		explicit = envm[EnvConfig] != ""
	} else {
		path = expandHome(path, envm)
	}

	// "::" as viper's key delimiter keeps a name with a dot in it whole, so
	// that it is reported as a bad name rather than split into sections.
	v := viper.NewWithOptions(viper.KeyDelimiter(keyDelim))
	v.SetConfigType("yaml")
	file := path
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		file = ""
	case err != nil:
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "no such file"
		}
		return nil, &Error{File: path, Problems: []Problem{{Msg: msg}}, cause: err}
	default:
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, &Error{File: path, Problems: []Problem{{Msg: "not valid YAML: " + yamlMessage(err)}}, cause: err}
		}
	}

	d := &decoder{origin: map[string]string{}, env: envm, file: file}
	if file != "" {
		d.probs, d.fileNames = fileNames(data)
	}
	root := schema()
	d.overlayEnv(v, root, o.Env, o.IgnoreEnv)
	d.overlaySet(v, root, o.Set)

	cfg := d.decode(root, v.AllSettings())
	cfg.File = file
	if len(d.probs) > 0 {
		return nil, &Error{File: file, Problems: d.probs}
	}
	return cfg, nil
}

// DefaultPath is the config file used when --config is not given:
// $CARDBRIDGE_CONFIG, else $XDG_CONFIG_HOME/cardbridge/config.yaml, else
// ~/.config/cardbridge/config.yaml. A relative XDG_CONFIG_HOME is ignored,
// as the XDG specification asks.
func DefaultPath(env []string) string {
	m := envMap(env)
	if p := m[EnvConfig]; p != "" {
		return expandHome(p, m)
	}
	if x := m["XDG_CONFIG_HOME"]; filepath.IsAbs(x) {
		return filepath.Join(x, "cardbridge", "config.yaml")
	}
	return filepath.Join(homeDir(m), ".config", "cardbridge", "config.yaml")
}

// DefaultStatePath is the state database used when the config sets none:
// $XDG_STATE_HOME/cardbridge/state.db, else
// ~/.local/state/cardbridge/state.db.
func DefaultStatePath(env []string) string {
	m := envMap(env)
	if x := m["XDG_STATE_HOME"]; filepath.IsAbs(x) {
		return filepath.Join(x, "cardbridge", "state.db")
	}
	return filepath.Join(homeDir(m), ".local", "state", "cardbridge", "state.db")
}

// IsStateURL reports whether a state setting is a PostgreSQL URL
// (postgres://... or postgresql://...) rather than a file path: it is then
// kept as it is (no ~ expansion, no directory), and the default key file is
// looked for beside the config file, or where the default state file would
// be when no config file was read. state.Open makes the same distinction.
func IsStateURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// DefaultSecretKeyFile is the key file used when secret_key_file is not
// set: state.key in the directory of the config file, or of the state
// file when no config file was read.
func DefaultSecretKeyFile(configFile, statePath string) string {
	dir := filepath.Dir(statePath)
	if configFile != "" {
		dir = filepath.Dir(configFile)
	}
	if a, err := filepath.Abs(dir); err == nil {
		dir = a
	}
	return filepath.Join(dir, "state.key")
}

// envMap turns KEY=VALUE strings into a map; a later entry wins.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// homeDir is $HOME of env, else the process's home directory, else "~"
// (so that a path still reads sensibly in messages).
func homeDir(env map[string]string) string {
	if h := env["HOME"]; h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "~"
}

// expandHome expands a leading "~" or "~/".
func expandHome(p string, env map[string]string) string {
	if p == "~" {
		return homeDir(env)
	}
	if strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator)) {
		return filepath.Join(homeDir(env), p[2:])
	}
	return p
}

func yamlMessage(err error) string {
	var pe viper.ConfigParseError
	if errors.As(err, &pe) {
		if u := errors.Unwrap(pe); u != nil {
			return u.Error()
		}
	}
	return err.Error()
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
