-- 0002: Office 365 accounts: the tokens of each configured account and when it last synced.
--
-- One row per account name (the key under accounts in the configuration). The row keeps
-- the client_id, tenant and flow the tokens were obtained with, so that a changed
-- configuration is noticed (the tokens are then treated as missing). The signed-in user
-- is kept in user_name ("user" is a reserved word in PostgreSQL). scopes is the
-- space-separated list of scopes the tokens were requested with; expiry is the access
-- token's, in unix nanoseconds (NULL when unknown). The file is 0600: tokens are stored
-- as they are.
CREATE TABLE accounts (
    name          TEXT    PRIMARY KEY,
    client_id     TEXT    NOT NULL DEFAULT '',
    tenant        TEXT    NOT NULL DEFAULT '',
    flow          TEXT    NOT NULL DEFAULT '',
    user_name     TEXT    NOT NULL DEFAULT '',
    access_token  TEXT    NOT NULL DEFAULT '',
    refresh_token TEXT    NOT NULL DEFAULT '',
    expiry        INTEGER,
    scopes        TEXT    NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL,
    last_sync_at  INTEGER
);
