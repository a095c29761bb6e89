-- The KPI report (store/kpis.go) reads one commissioner's episodes by the
-- instant each figure is counted by: opened, offer deadline, follow-up due,
-- breach deadline. Each index leads with the commissioner and that instant
-- and carries the columns the report counts, so a report over a year of
-- one commissioner reads only that year's rows (index-only where the
-- visibility map allows).
CREATE INDEX episodes_kpi_opened_idx ON episodes (commissioner_id, opened_at)
    INCLUDE (id, child_id, looked_after, status, reported_missing_at, returned_at, offer_made_at);
CREATE INDEX episodes_kpi_deadline_idx ON episodes (commissioner_id, offer_deadline)
    INCLUDE (offer_made_at);
CREATE INDEX episodes_kpi_follow_up_idx ON episodes (commissioner_id, follow_up_due_at)
    INCLUDE (follow_up_completed_at) WHERE follow_up_due_at IS NOT NULL;
CREATE INDEX escalations_kpi_idx ON escalations (commissioner_id, kind, due_at) INCLUDE (reason);
-- Per-episode lookups: the first interview held, and an offer accepted.
CREATE INDEX interviews_held_idx ON interviews (episode_id, held_at) WHERE outcome = 'held';
CREATE INDEX contact_attempts_accepted_idx ON contact_attempts (episode_id) WHERE outcome = 'reached_offered';
