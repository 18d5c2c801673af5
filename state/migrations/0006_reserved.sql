-- 0006: reserved on branch trash (issue 13): another helper's migration takes this
-- number at merge; this placeholder only keeps the numbers without a gap so that
-- 0007 applies here. Drop it at merge.
SELECT 1;
