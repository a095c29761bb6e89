-- The same worker each time. A user may record a gender (optional), so a
-- child's preference for a worker of one gender can be respected; a
-- child's worker is the interviewer who last held an interview with them
-- (or the one a coordinator set), as of worker_since, so that an older
-- interview projected late never takes the child from a newer worker.
ALTER TABLE users ADD COLUMN gender text NOT NULL DEFAULT ''
    CHECK (length(gender) <= 200);
ALTER TABLE children ADD COLUMN worker_since timestamptz;
UPDATE children SET worker_since = updated_at WHERE worker_id IS NOT NULL;
GRANT SELECT (gender) ON users TO homeward_app;
