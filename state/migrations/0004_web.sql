-- 0004: what the web UI of `cardbridge serve` keeps: sign-in sessions, pending
-- "Connect Office 365" authorizations, and the pairs made from the page.
--
-- Sessions are keyed by the SHA-256 (hex) of the cookie's random value, never the
-- value itself, so a copy of the database does not hand out live sessions. A
-- session ends at expires_at (moved forward on use: an idle timeout) or when the
-- user signs out; removing a server user removes its sessions, pending
-- authorizations and web-made pairs (ON DELETE CASCADE).
CREATE TABLE web_sessions (
    id_hash    TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES server_users (name) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- One authorization request in flight: the OAuth `state` (hashed like the
-- sessions), the session it belongs to, the PKCE verifier and the redirect URI the
-- code must be redeemed with. A row is taken (deleted) by the callback: single use.
CREATE TABLE web_oauth_states (
    state_hash   TEXT    PRIMARY KEY,
    session_hash TEXT    NOT NULL REFERENCES web_sessions (id_hash) ON DELETE CASCADE,
    verifier     TEXT    NOT NULL,
    redirect_uri TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

-- A pair made from the web page: the Office 365 account the user connected
-- (its tokens are in accounts under the name in account) and one of the user's
-- address books. conflict is the pair's policy (merge, or manual: left for the
-- page's keep buttons); every_ns is the schedule in nanoseconds.
CREATE TABLE web_pairs (
    name        TEXT    PRIMARY KEY,
    user_name   TEXT    NOT NULL REFERENCES server_users (name) ON DELETE CASCADE,
    account     TEXT    NOT NULL,
    folder      TEXT    NOT NULL DEFAULT '',
    addressbook TEXT    NOT NULL,
    conflict    TEXT    NOT NULL DEFAULT 'merge',
    every_ns    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX web_pairs_user    ON web_pairs (user_name);
CREATE INDEX web_pairs_account ON web_pairs (account);
