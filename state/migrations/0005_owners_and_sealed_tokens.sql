-- 0005: who owns an Office 365 account connected on the web page, and tokens
-- sealed at rest.
--
-- web_accounts names the server user that connected an account from the web
-- page (the account's tokens are in accounts under the same name). Removing the
-- user removes the row (ON DELETE CASCADE) and RemoveUser deletes the account's
-- tokens with it; an account in accounts with no row here belongs to no web user
-- (a configured account, or tokens left over by an older cardbridge), and the web
-- page never shows it as anyone's connection.
CREATE TABLE web_accounts (
    account    TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES server_users (name) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX web_accounts_user ON web_accounts (user_name);

-- Carried forward: the accounts the existing web pairs use belong to the pairs'
-- users; a connection without a pair yet ("web-" + user, the only name the page
-- gave) belongs to its user if its tokens were stored after the user was created
-- (older tokens are a removed namesake's leftovers: they stay unowned).
INSERT INTO web_accounts (account, user_name, created_at)
SELECT account, MIN(user_name), MIN(created_at) FROM web_pairs GROUP BY account;
INSERT INTO web_accounts (account, user_name, created_at)
SELECT a.name, u.name, a.updated_at FROM accounts a JOIN server_users u ON a.name = 'web-' || u.name
WHERE a.updated_at >= u.created_at AND a.name NOT IN (SELECT account FROM web_accounts);

-- sealed is 0 while access_token and refresh_token hold the tokens as they are
-- (rows written before this migration), 1 once they hold base64 of an
-- XChaCha20-Poly1305 nonce and ciphertext (see state/secret.go). Open seals the
-- plain rows when it is given the key.
ALTER TABLE accounts ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
