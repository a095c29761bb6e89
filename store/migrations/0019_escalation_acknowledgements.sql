-- A manager's acknowledgement of an escalation: who is dealing with it,
-- with a note for the team. Escalations are projected from the episodes'
-- workflows, but this is the team's note about handling one, not an
-- outcome of the episode, so it lives here only and no workflow hears of
-- it. One per escalation; it goes with the escalation when the retention
-- purge deletes that.
--
-- key_id is the caller's Idempotency-Key scoped to them (a hash, no
-- personal data) and request_hash the hash of what they sent, so that a
-- retry gets the first answer and a reused key is refused.
CREATE TABLE escalation_acknowledgements (
    escalation_id   bigint PRIMARY KEY REFERENCES escalations (id) ON DELETE CASCADE,
    acknowledged_by uuid NOT NULL REFERENCES users (id),
    note            text NOT NULL CHECK (note <> ''),
    acknowledged_at timestamptz NOT NULL,
    key_id          text NOT NULL UNIQUE,
    request_hash    text NOT NULL
);

ALTER TABLE escalation_acknowledgements OWNER TO homeward_owner;

-- A person reads and writes acknowledgements as homeward_app: one is
-- visible with its escalation, and may be written only by a manager or
-- admin who sees the escalation, in their own name. (A commissioner's
-- manager sees only their commissioner's escalations.)
GRANT SELECT, INSERT ON escalation_acknowledgements TO homeward_app;
ALTER TABLE escalation_acknowledgements ENABLE ROW LEVEL SECURITY;
CREATE POLICY escalation_acknowledgements_caller ON escalation_acknowledgements FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM escalations x WHERE x.id = escalation_acknowledgements.escalation_id));
CREATE POLICY escalation_acknowledgements_acknowledge ON escalation_acknowledgements FOR INSERT TO homeward_app
    WITH CHECK (
        acknowledged_by::text = current_setting('homeward.user_id', true)
        AND current_setting('homeward.role', true) IN ('manager', 'admin')
        AND EXISTS (SELECT 1 FROM escalations x WHERE x.id = escalation_acknowledgements.escalation_id));
