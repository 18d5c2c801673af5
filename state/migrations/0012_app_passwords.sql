-- 0012: app passwords: secrets a user of the built-in server gives a phone or
-- a mail client instead of their password (CardDAV clients only do Basic
-- auth), one per device, named by the user ("iPhone", unique per user) and
-- revoked one by one (the row is deleted).
--
-- The token given out is "cbap_<id>_<secret>": id finds the row, and only the
-- SHA-256 of the random secret is kept (secret_sum, hex), never the secret.
-- created_at and last_used_at are unix nanoseconds (last_used_at 0: never;
-- written at most once a minute per password). Removing the user removes
-- their app passwords (ON DELETE CASCADE), so a namesake inherits none.
CREATE TABLE app_passwords (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name    TEXT    NOT NULL REFERENCES server_users (name) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    secret_sum   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_name, name)
);
