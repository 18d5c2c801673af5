-- 0016: PLACEHOLDER on branch mailboxes only, so that 0017 follows without a
-- gap; the dirbook helper's 0016_directory_log.sql replaces it at merge.
SELECT 1;
