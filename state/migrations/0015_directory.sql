-- 0015: the organisation directory, one copy per Microsoft tenant (lower-case
-- tenant id), read with /users/delta. E-mail addresses and phones are JSON
-- arrays of strings; manager_id is the manager's object id ('' none), whose
-- name is read from the same table.
CREATE TABLE directory_users (
    tenant_id       TEXT    NOT NULL,
    object_id       TEXT    NOT NULL,
    upn             TEXT    NOT NULL DEFAULT '',
    display_name    TEXT    NOT NULL DEFAULT '',
    given_name      TEXT    NOT NULL DEFAULT '',
    surname         TEXT    NOT NULL DEFAULT '',
    mail            TEXT    NOT NULL DEFAULT '',
    other_mails     TEXT    NOT NULL DEFAULT '[]',
    business_phones TEXT    NOT NULL DEFAULT '[]',
    mobile_phone    TEXT    NOT NULL DEFAULT '',
    job_title       TEXT    NOT NULL DEFAULT '',
    department      TEXT    NOT NULL DEFAULT '',
    office          TEXT    NOT NULL DEFAULT '',
    company         TEXT    NOT NULL DEFAULT '',
    manager_id      TEXT    NOT NULL DEFAULT '',
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    user_type       TEXT    NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, object_id)
);

-- The deltaLink of each tenant's last users delta round.
CREATE TABLE directory_tokens (
    tenant_id   TEXT    PRIMARY KEY,
    delta_token TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
