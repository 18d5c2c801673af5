-- 0008: the contact fields an Office 365 account refuses to write for good
-- (contact photos on a personal Microsoft account), so that every later run
-- leaves them out instead of failing on them again. Kept per account name;
-- a logout (DeleteToken), a disconnect on the web page and removing the
-- user who connected a web account forget them with the account's tokens.
CREATE TABLE account_refused_fields (
    account    TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, field)
);
