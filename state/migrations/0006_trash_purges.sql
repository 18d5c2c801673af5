-- 0006: the trash is purged (by age and by size per pair), and a restore of a
-- purged entry says it is gone rather than "not found".
--
-- trash.size is the length of the entry's vCard in bytes: the per-pair size cap
-- sums it from the index (pair, created_at, size, restore_requested), which
-- replaces trash_pair_created, without reading the cards.
--
-- trash_purges records what the purges removed: one row per run of consecutive
-- trash ids that one purge removed from one pair for one cause ('age': older
-- than lim nanoseconds; 'size': beyond the pair's cap of lim bytes). No trash
-- entry that outlived the purge has an id between first_id and last_id
-- (trash.id is AUTOINCREMENT: never reused), so the earliest row whose range
-- holds an id is the purge that removed it. manual says `cardbridge trash
-- purge` did it. The log is bounded (a year, 10,000 rows; see state/trash.go).
ALTER TABLE trash ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE trash SET size = length(card);
DROP INDEX trash_pair_created;
CREATE INDEX trash_pair_created ON trash (pair, created_at, size, restore_requested);

CREATE TABLE trash_purges (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    pair      TEXT    NOT NULL,
    first_id  INTEGER NOT NULL,
    last_id   INTEGER NOT NULL,
    entries   INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    cause     TEXT    NOT NULL CHECK (cause IN ('age', 'size')),
    lim       INTEGER NOT NULL,
    manual    BOOLEAN NOT NULL DEFAULT FALSE,
    purged_at INTEGER NOT NULL
);
CREATE INDEX trash_purges_last ON trash_purges (last_id);
