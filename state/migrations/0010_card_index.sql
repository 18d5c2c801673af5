-- 0010: what the web page lists and searches of each card of the built-in
-- server, kept beside the card so that a search of a large book reads short
-- rows instead of parsing every vCard. PutCard writes a card's row in the
-- transaction that stores the card (the text comes from parsing it); the
-- row goes with the card (ON DELETE CASCADE, and DeleteCard deletes it
-- explicitly). Cards stored before this migration get their rows when the
-- database is next opened writable.
--
-- search is the lower-cased names, e-mail addresses, nicknames and
-- organisation, and each phone number's digits, one per line; a query
-- matches where each of its words (or its phone digits) is a substring.
CREATE TABLE card_index (
    book_id   INTEGER NOT NULL,
    href      TEXT    NOT NULL,
    sort_key  TEXT    NOT NULL,
    name      TEXT    NOT NULL DEFAULT '',
    email     TEXT    NOT NULL DEFAULT '',
    phone     TEXT    NOT NULL DEFAULT '',
    org       TEXT    NOT NULL DEFAULT '',
    has_photo BOOLEAN NOT NULL DEFAULT FALSE,
    search    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (book_id, href),
    FOREIGN KEY (book_id, href) REFERENCES cards (book_id, href) ON DELETE CASCADE
);
CREATE INDEX card_index_sort ON card_index (book_id, sort_key, href);
