-- Commissioner officers: a commissioner's own staff (its missing-children
-- coordinator, a social work team) who read that commissioner's return
-- reports, KPIs and exports and acknowledge reports, and record nothing
-- else. They see no case records: homeward_visible() gives them nothing.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('coordinator', 'interviewer', 'manager', 'admin', 'commissioner_officer'));
