-- Commissioners (the local authorities a provider runs interviews for) and
-- row-level security on the case records.
--
-- Every episode belongs to one commissioner. A user belongs to the provider
-- (commissioner_id NULL) or to one commissioner. The API reads case data as
-- the role homeward_app, which owns no table and so is subject to the
-- policies below; it names its caller per transaction with
--   SET LOCAL ROLE homeward_app;
--   SELECT set_config('homeward.user_id', …, true),
--          set_config('homeward.commissioner_id', …, true),  -- '' = provider
--          set_config('homeward.role', …, true);
-- Without a caller every policy answers false: nothing is visible.
-- The worker's projection and the email activities write as the table
-- owner, which row-level security does not apply to (no FORCE).

CREATE TABLE commissioners (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX commissioners_name_lower_key ON commissioners (lower(name));

ALTER TABLE users ADD COLUMN commissioner_id uuid REFERENCES commissioners (id);
-- NULL only for episodes whose workflow started before commissioners
-- existed and were never projected; such rows are visible to the provider only.
ALTER TABLE episodes ADD COLUMN commissioner_id uuid REFERENCES commissioners (id);
ALTER TABLE escalations ADD COLUMN commissioner_id uuid;
CREATE INDEX episodes_commissioner_idx ON episodes (commissioner_id, offer_deadline, id);
CREATE INDEX escalations_commissioner_idx ON escalations (commissioner_id, triggered_at DESC, id DESC);

-- Existing records belong to a default commissioner, created only when
-- there are any.
DO $$
DECLARE cid uuid;
BEGIN
    IF EXISTS (SELECT 1 FROM episodes) OR EXISTS (SELECT 1 FROM escalations) THEN
        cid := md5('homeward default commissioner')::uuid;
        INSERT INTO commissioners (id, name) VALUES (cid, 'Default') ON CONFLICT DO NOTHING;
        UPDATE episodes SET commissioner_id = cid WHERE commissioner_id IS NULL;
        UPDATE escalations SET commissioner_id = cid WHERE commissioner_id IS NULL;
    END IF;
END $$;

-- The application role. Roles belong to the cluster, not the database:
-- another database of the same cluster may have created it already, even
-- at this very moment.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'homeward_app') THEN
        BEGIN
            CREATE ROLE homeward_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    -- The migrating login must be able to SET ROLE homeward_app. When it
    -- may not grant that to itself, an administrator must:
    --   GRANT homeward_app TO <login>;
    IF NOT pg_has_role(current_user, 'homeward_app', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT homeward_app TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'homeward: grant role homeward_app to %', current_user;
        END;
    END IF;
END $$;

-- Only what the reads need; never the token hashes.
GRANT SELECT (id, name, email, role, active, created_at, commissioner_id) ON users TO homeward_app;
GRANT SELECT ON commissioners, children, episodes, contact_attempts, interviews,
    agreements, follow_ups, escalations, timeline TO homeward_app;

-- Whether the caller may see the records of an episode of commissioner c
-- with assignee a. The provider's users (no commissioner) see every
-- commissioner; a commissioner's users only theirs; interviewers only
-- what is assigned to them.
CREATE FUNCTION homeward_visible(c uuid, a uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    -- COALESCE: a NULL anywhere (no caller, no commissioner) means no.
    SELECT COALESCE(
        (COALESCE(current_setting('homeward.commissioner_id', true), '') = ''
         OR c::text = current_setting('homeward.commissioner_id', true))
        AND CASE current_setting('homeward.role', true)
            WHEN 'interviewer' THEN a::text = current_setting('homeward.user_id', true)
            WHEN 'coordinator' THEN COALESCE(current_setting('homeward.user_id', true), '') <> ''
            WHEN 'manager' THEN COALESCE(current_setting('homeward.user_id', true), '') <> ''
            WHEN 'admin' THEN COALESCE(current_setting('homeward.user_id', true), '') <> ''
            ELSE false
        END,
        false)
$$;

ALTER TABLE episodes ENABLE ROW LEVEL SECURITY;
CREATE POLICY episodes_caller ON episodes FOR SELECT TO homeward_app
    USING (homeward_visible(commissioner_id, assigned_interviewer_id));

-- The records of an episode follow the episode: the subquery on episodes
-- is itself filtered by the policy above.
ALTER TABLE contact_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY contact_attempts_caller ON contact_attempts FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = contact_attempts.episode_id));
ALTER TABLE interviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY interviews_caller ON interviews FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = interviews.episode_id));
ALTER TABLE agreements ENABLE ROW LEVEL SECURITY;
CREATE POLICY agreements_caller ON agreements FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = agreements.episode_id));
ALTER TABLE follow_ups ENABLE ROW LEVEL SECURITY;
CREATE POLICY follow_ups_caller ON follow_ups FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = follow_ups.episode_id));
ALTER TABLE timeline ENABLE ROW LEVEL SECURITY;
CREATE POLICY timeline_caller ON timeline FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = timeline.episode_id));
-- A child is visible through a visible episode.
ALTER TABLE children ENABLE ROW LEVEL SECURITY;
CREATE POLICY children_caller ON children FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.child_id = children.id));
-- An escalation may be recorded before its episode is projected, so it
-- carries its commissioner; interviewers see those of their episodes.
ALTER TABLE escalations ENABLE ROW LEVEL SECURITY;
CREATE POLICY escalations_caller ON escalations FOR SELECT TO homeward_app
    USING (homeward_visible(commissioner_id, NULL)
           OR EXISTS (SELECT 1 FROM episodes e WHERE e.id = escalations.episode_id));
