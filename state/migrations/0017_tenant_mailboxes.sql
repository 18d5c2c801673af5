-- 0017: every mailbox of a tenant, unattended (accounts.X.mailboxes). One row
-- per mailbox an app-only account provisions: the person (tenant id and object
-- id, lower case; the UPN seen last, for display), the local user the mailbox
-- belongs to, and the pair "that mailbox's contacts <-> the user's book".
-- state is 'active' (the pair runs) or 'paused' (the person left, was
-- disabled or left the group at left_at, unix nanoseconds; 0 while active):
-- after the account's mailbox_keep the pair, its sync state and the user are
-- removed. last_run_at (0: never), the last run's changes on each side
-- (a_changes: written to Office 365, b_changes: to the book), its item
-- errors and its error ('' none) are what status shows. Removing the user
-- removes the row (ON DELETE CASCADE, and RemoveUser does it explicitly with
-- the pair's state).
CREATE TABLE tenant_mailboxes (
    account     TEXT    NOT NULL,
    tenant_id   TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    upn         TEXT    NOT NULL DEFAULT '',
    user_name   TEXT    NOT NULL REFERENCES server_users (name) ON DELETE CASCADE,
    pair        TEXT    NOT NULL UNIQUE,
    state       TEXT    NOT NULL DEFAULT 'active',
    left_at     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    last_run_at INTEGER NOT NULL DEFAULT 0,
    a_changes   INTEGER NOT NULL DEFAULT 0,
    b_changes   INTEGER NOT NULL DEFAULT 0,
    item_errors INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (account, object_id)
);
CREATE INDEX tenant_mailboxes_user ON tenant_mailboxes (user_name);
