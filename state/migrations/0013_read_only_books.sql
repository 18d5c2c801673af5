-- 0013: read-only address books. A book the system makes and keeps (the
-- organisation directory) is served read-only: the built-in server refuses
-- clients' writes to it (403 DAV:need-privileges) and says so in
-- DAV:current-user-privilege-set, and PutCard and DeleteCard refuse its
-- cards unless the write says it is the owning system's
-- (Precondition.System). Existing books stay writable.
ALTER TABLE addressbooks ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
