-- 0011: leases replace the pair locks, and the schedules of the pairs are
-- shared by the replicas of serve.
--
-- A lease is held by one process (holder: an id of the acquisition) until
-- expires_at (unix nanoseconds, the database's clock on PostgreSQL), renewed
-- by the holder while it works; a row whose holder is '' is free. pid,
-- hostname and boot_id name the holder for messages and let a process of the
-- same host tell a dead holder at once. pending_at is when another process
-- found the lease held and asked for one more run (0: never).
DROP TABLE locks;
CREATE TABLE leases (
    key         TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL DEFAULT '',
    pid         INTEGER NOT NULL DEFAULT 0,
    hostname    TEXT    NOT NULL DEFAULT '',
    boot_id     TEXT    NOT NULL DEFAULT '',
    acquired_at INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER NOT NULL DEFAULT 0,
    pending_at  INTEGER NOT NULL DEFAULT 0
);

-- When each scheduled pair's next period is due (unix nanoseconds): the
-- replica that moves it forward runs that period.
CREATE TABLE pair_schedules (
    pair     TEXT    PRIMARY KEY,
    next_due INTEGER NOT NULL
);
