-- 0003: the built-in CardDAV server's store: users, address books, cards and a
-- per-book change log.
--
-- A user owns address books by name (the owner is kept in user_name: "user" is a
-- reserved word in PostgreSQL). Removing a user removes its books, and removing a
-- book its cards and its change log (ON DELETE CASCADE; foreign_keys is on).
--
-- Every write to a book takes the next number of the book's sequence
-- (addressbooks.sync_seq, the book's sync-token and getctag) and records it in the
-- card's row (version_seq) and in card_changes. card_changes keeps one row per
-- href (the UNIQUE index): a write replaces the href's earlier row, so the changes
-- since a token are the rows with a larger seq, each href once, in its last state
-- (deleted or not). min_seq is the oldest token still answerable: a later
-- compaction that drops tombstones raises it, and tokens below it are refused.
CREATE TABLE server_users (
    name          TEXT    PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE addressbooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name   TEXT    NOT NULL REFERENCES server_users (name) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    displayname TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    sync_seq    INTEGER NOT NULL DEFAULT 0,
    min_seq     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_name, name)
);

CREATE TABLE cards (
    book_id     INTEGER NOT NULL REFERENCES addressbooks (id) ON DELETE CASCADE,
    href        TEXT    NOT NULL,
    uid         TEXT    NOT NULL DEFAULT '',
    etag        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    version_seq INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    PRIMARY KEY (book_id, href)
);
-- A UID names one card per book; cards without a UID are not constrained.
CREATE UNIQUE INDEX cards_book_uid ON cards (book_id, uid) WHERE uid <> '';

CREATE TABLE card_changes (
    book_id INTEGER NOT NULL REFERENCES addressbooks (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    href    TEXT    NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (book_id, seq)
);
CREATE UNIQUE INDEX card_changes_book_href ON card_changes (book_id, href);
