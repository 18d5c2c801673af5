-- 0019: an index of directory people by manager. A refresh that renames
-- or adds people gives each of their reports (whose cards name the
-- manager) a new change number, one lookup per renamed person: without
-- the index each lookup read the whole tenant, so a first refresh of a
-- 5,000-person directory read 25 million rows in one transaction. With
-- object_id last it also gives the lookup its order.
CREATE INDEX directory_users_manager ON directory_users (tenant_id, manager_id, object_id);
