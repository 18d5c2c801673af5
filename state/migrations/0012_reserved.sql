-- 0012: reserved for the app passwords of issue 18 (branch apppw), which
-- number theirs 0012; this placeholder keeps the numbers without gaps on the
-- branch that adds 0013 and is dropped when the two branches are merged.
SELECT 1;
