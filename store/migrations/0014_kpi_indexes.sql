-- The KPI report (store/kpis.go) reads one commissioner's episodes by the
-- instant each figure is counted by: opened, offer deadline, follow-up due,
-- breach deadline. Each index leads with the commissioner and that instant
-- and carries the columns the report counts, so a report over a year of
-- one commissioner reads only that year's rows (index-only where the
-- visibility map allows).

-- Kept on the episode by the projection, so the report does not look up
-- each episode's interviews and attempts: when the first interview was
-- held, and whether the child accepted an offer on contact.
ALTER TABLE episodes ADD COLUMN first_held_at timestamptz;
ALTER TABLE episodes ADD COLUMN offer_accepted boolean NOT NULL DEFAULT false;
UPDATE episodes e SET
    first_held_at = (SELECT min(i.held_at) FROM interviews i WHERE i.episode_id = e.id AND i.outcome = 'held'),
    offer_accepted = EXISTS (SELECT 1 FROM contact_attempts a WHERE a.episode_id = e.id AND a.outcome = 'reached_offered');

CREATE INDEX episodes_kpi_opened_idx ON episodes (commissioner_id, opened_at)
    INCLUDE (child_id, looked_after, status, reported_missing_at, returned_at, offer_made_at,
        first_held_at, offer_accepted);
CREATE INDEX episodes_kpi_deadline_idx ON episodes (commissioner_id, offer_deadline)
    INCLUDE (offer_made_at);
CREATE INDEX episodes_kpi_follow_up_idx ON episodes (commissioner_id, follow_up_due_at)
    INCLUDE (follow_up_completed_at) WHERE follow_up_due_at IS NOT NULL;
CREATE INDEX escalations_kpi_idx ON escalations (commissioner_id, kind, due_at) INCLUDE (reason);
