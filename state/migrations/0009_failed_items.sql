-- 0009: the items a run could not read or apply. The run records them
-- here in the same transaction that saves the side's change token, so the
-- token advances past them; later runs read them again by id once
-- next_retry_at has passed (exponential back-off), and the row goes when
-- the item syncs. RemoveUser, DisconnectWebAccount and ResetSide forget
-- them with the rest of the pair's state.
CREATE TABLE failed_items (
    pair           TEXT    NOT NULL,
    side           TEXT    NOT NULL CHECK (side IN ('a', 'b')),
    side_id        TEXT    NOT NULL,
    uid            TEXT    NOT NULL DEFAULT '',
    reason         TEXT    NOT NULL,
    attempts       INTEGER NOT NULL,
    first_failed_at INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    next_retry_at  INTEGER NOT NULL,
    PRIMARY KEY (pair, side, side_id)
);
