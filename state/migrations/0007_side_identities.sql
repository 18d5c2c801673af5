-- 0007: what each side of a pair points at (sync.Identifier: an Office 365
-- cloud, tenant, mailbox and folder id; a vdir's absolute path; a CardDAV
-- book's URL; a server user's book), recorded on the side's first run. The
-- pair's token and the ids and versions in items are only valid for that
-- target: a run whose side now names another one is refused until
-- `cardbridge reset PAIR --side S` forgets them (or the configuration is put
-- back). A pair synced before this migration has no row: its first run
-- records the side's current identity (nothing to carry forward).
CREATE TABLE side_identities (
    pair       TEXT    NOT NULL,
    side       TEXT    NOT NULL CHECK (side IN ('a', 'b')),
    identity   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (pair, side)
);
