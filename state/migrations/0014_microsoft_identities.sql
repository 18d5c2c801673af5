-- 0014: Sign in with Microsoft. A person is known by their Microsoft tenant
-- id and object id (the ID token's tid and oid, lower case), never by e-mail;
-- each identity is one local user's. Removing the user removes their
-- identities (ON DELETE CASCADE), so a namesake created later is not signed
-- in by the removed user's Microsoft account.
CREATE TABLE microsoft_identities (
    tenant_id  TEXT    NOT NULL,
    object_id  TEXT    NOT NULL,
    user_name  TEXT    NOT NULL REFERENCES server_users (name) ON DELETE CASCADE,
    upn        TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, object_id)
);
CREATE INDEX microsoft_identities_user ON microsoft_identities (user_name);

-- A "Sign in with Microsoft" in flight (no session yet): the hash of its
-- state parameter, the hash of the browser's pre-sign-in cookie it belongs
-- to, the PKCE verifier, the nonce the ID token must carry and the redirect
-- URI. Taken (deleted) once, whatever the outcome.
CREATE TABLE web_signin_states (
    state_hash   TEXT    PRIMARY KEY,
    browser_hash TEXT    NOT NULL,
    verifier     TEXT    NOT NULL,
    nonce        TEXT    NOT NULL,
    redirect_uri TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
