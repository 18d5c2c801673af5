-- 0001: the item map, bases, sync tokens, pair locks, trash, conflicts and runs.
--
-- Conventions (kept so the schema can move to PostgreSQL with little change):
--   * ids are INTEGER PRIMARY KEY AUTOINCREMENT (never reused, like an identity column);
--   * every timestamp is an INTEGER of unix nanoseconds, in a column named *_at;
--     NULL means "not yet" (restored_at, resolved_at, finished_at);
--   * text columns are NOT NULL DEFAULT '' unless absence means something;
--   * pairs are referred to by their configured name (TEXT). Later migrations add
--     accounts, server users, address books and a per-book change log; they reference
--     these tables by id or pair name and need nothing changed here.

-- One linked contact of a pair.
CREATE TABLE items (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    pair       TEXT    NOT NULL,
    uid        TEXT    NOT NULL DEFAULT '',
    a_id       TEXT    NOT NULL DEFAULT '',
    a_version  TEXT    NOT NULL DEFAULT '',
    b_id       TEXT    NOT NULL DEFAULT '',
    b_version  TEXT    NOT NULL DEFAULT '',
    base_hash  TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);
-- (pair, id): Items lists a pair in id order without sorting.
CREATE INDEX items_pair      ON items (pair, id);
CREATE INDEX items_pair_a_id ON items (pair, a_id);
CREATE INDEX items_pair_b_id ON items (pair, b_id);
CREATE INDEX items_pair_uid  ON items (pair, uid);

-- The base (full merged vCard last written to both sides) of an item, kept apart
-- so that listing the items of a pair reads no vCard text.
CREATE TABLE bases (
    item_id INTEGER PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    card    BLOB    NOT NULL
);

-- The delta link / sync token each side of a pair returned last.
CREATE TABLE sync_tokens (
    pair       TEXT    NOT NULL,
    side       TEXT    NOT NULL CHECK (side IN ('a', 'b')),
    token      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (pair, side)
);

-- One row per pair being synced: who holds it. boot_id tells a holder that died
-- in a reboot (its pid may have been reused since) from a live one.
CREATE TABLE locks (
    pair        TEXT    PRIMARY KEY,
    pid         INTEGER NOT NULL,
    hostname    TEXT    NOT NULL,
    boot_id     TEXT    NOT NULL DEFAULT '',
    acquired_at INTEGER NOT NULL
);

-- Every deleted or overwritten version, restorable.
CREATE TABLE trash (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    pair              TEXT    NOT NULL,
    side              TEXT    NOT NULL,
    uid               TEXT    NOT NULL DEFAULT '',
    side_id           TEXT    NOT NULL DEFAULT '',
    card              BLOB    NOT NULL,
    reason            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    restore_requested BOOLEAN NOT NULL DEFAULT FALSE,
    restored_at       INTEGER
);
CREATE INDEX trash_pair_created ON trash (pair, created_at);
CREATE INDEX trash_created      ON trash (created_at);

-- Items left untouched under the manual policy, and their resolutions.
-- item_id is NULL for a clash between two new items that are not linked yet.
CREATE TABLE conflicts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pair        TEXT    NOT NULL,
    item_id     INTEGER REFERENCES items (id) ON DELETE CASCADE,
    uid         TEXT    NOT NULL DEFAULT '',
    a           BLOB,
    b           BLOB,
    base        BLOB,
    created_at  INTEGER NOT NULL,
    keep        TEXT    NOT NULL DEFAULT '' CHECK (keep IN ('', 'a', 'b', 'merged')),
    merged      BLOB,
    resolved_at INTEGER
);
CREATE UNIQUE INDEX conflicts_open_item ON conflicts (pair, item_id) WHERE keep = '';
CREATE INDEX conflicts_item ON conflicts (item_id);

-- One row per sync of a pair.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pair        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    ok          BOOLEAN NOT NULL DEFAULT FALSE,
    summary     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX runs_pair_started ON runs (pair, started_at);
