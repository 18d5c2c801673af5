-- 0018: the members of the groups that limit a Directory book
-- (accounts.X.directory.group), one copy per tenant and group: the object ids
-- (lower case) of the group's direct members as /groups/{id}/members listed
-- them at the last refresh. A person who joins or leaves a group gets the
-- tenant's next change number (directory_users.seq), so that the book's
-- sync-collection reports them added or deleted.
CREATE TABLE directory_group_members (
    tenant_id TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    object_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, object_id)
);
