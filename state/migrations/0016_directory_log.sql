-- 0016: the change log of each tenant's directory copy, so the read-only
-- Directory address book answers sync-collection. Every write of a person
-- (their own change, a new photo, or their manager's name changing) gives
-- their row the tenant's next change number (seq); a person who left gets
-- a tombstone with the change number of their removal (and loses it when
-- they come back). directory_seqs holds each tenant's last change number,
-- the book's sync token and getctag. The photo is the profile photo as
-- Graph sends it (NULL: none).
ALTER TABLE directory_users ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directory_users ADD COLUMN photo BLOB;
CREATE INDEX directory_users_seq ON directory_users (tenant_id, seq);

CREATE TABLE directory_removed (
    tenant_id TEXT    NOT NULL,
    object_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, object_id)
);
CREATE INDEX directory_removed_seq ON directory_removed (tenant_id, seq);

CREATE TABLE directory_seqs (
    tenant_id TEXT    PRIMARY KEY,
    seq       INTEGER NOT NULL
);

-- Rows written before this migration have no change number and no photo:
-- forgetting the delta tokens makes the next refresh of each tenant a full
-- round, which writes everyone again (numbered, with photos).
DELETE FROM directory_tokens;
