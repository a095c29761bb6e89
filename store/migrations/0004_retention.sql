-- Retention and erasure: legal holds that stop the retention purge for a
-- child, and the index the purge uses to find ended episodes.

-- A legal hold on a child (litigation, an inquiry, a police investigation,
-- a subject access request in progress) keeps every record of that child,
-- whatever the retention policy says. A hold is active until released; the
-- released rows stay as history while the child's records exist.
CREATE TABLE legal_holds (
    id           bigserial PRIMARY KEY,
    child_id     uuid NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    reason       text NOT NULL,
    placed_by    text NOT NULL DEFAULT '',
    placed_at    timestamptz NOT NULL DEFAULT now(),
    released_at  timestamptz,
    released_by  text NOT NULL DEFAULT '',
    CHECK (released_at IS NULL OR released_at >= placed_at)
);
-- At most one active hold per child.
CREATE UNIQUE INDEX legal_holds_active_key ON legal_holds (child_id) WHERE released_at IS NULL;

-- The purge looks only at ended episodes.
CREATE INDEX episodes_ended_idx ON episodes (ended_at, id)
    WHERE status IN ('completed', 'declined', 'closed');
CREATE INDEX email_deliveries_sent_idx ON email_deliveries (sent_at);
