-- Children as records of their own: every episode belongs to a child, and a
-- child belongs to one commissioner, so that repeat episodes of the same
-- child come together and row-level security can scope the child itself.

ALTER TABLE children
    ADD COLUMN commissioner_id uuid REFERENCES commissioners (id),
    -- The CHILD id the local authority uses in its SSDA903 return.
    ADD COLUMN local_authority_child_id text NOT NULL DEFAULT '',
    ADD COLUMN police_person_reference text NOT NULL DEFAULT '',
    -- What the child asked for: worker gender, language or interpreter,
    -- venues that feel safe, who not to contact.
    ADD COLUMN preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN contact jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The child's worker: the interviewer who knows them.
    ADD COLUMN worker_id uuid REFERENCES users (id),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- A child known before belongs to the commissioner of their first episode.
UPDATE children c SET commissioner_id = (
    SELECT e.commissioner_id FROM episodes e
    WHERE e.child_id = c.id AND e.commissioner_id IS NOT NULL
    ORDER BY e.opened_at, e.id LIMIT 1)
WHERE c.commissioner_id IS NULL;

-- The local authority's id names one child within that commissioner; two
-- referrals for the same new child that race each other meet here.
CREATE UNIQUE INDEX children_local_authority_id_key
    ON children (commissioner_id, local_authority_child_id)
    WHERE local_authority_child_id <> '';
-- Possible matches are looked for by date of birth within a commissioner.
CREATE INDEX children_date_of_birth_idx ON children (commissioner_id, date_of_birth);
CREATE INDEX children_worker_idx ON children (worker_id) WHERE worker_id IS NOT NULL;

-- A commissioner's staff see that commissioner's children, the provider's
-- staff every child; an interviewer sees the children of the episodes
-- assigned to them and the children whose worker they are. The episode
-- clause also keeps visible a child first known before this change.
DROP POLICY children_caller ON children;
CREATE POLICY children_caller ON children FOR SELECT TO homeward_app
    USING (homeward_visible(commissioner_id, worker_id)
           OR EXISTS (SELECT 1 FROM episodes e WHERE e.child_id = children.id));
