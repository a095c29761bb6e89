-- Audit trail: who read or wrote which case data, when, from where, with what
-- outcome. Ids, roles, routes, addresses and outcomes only: never a child's
-- name, contact details or story.
--
-- Append-only: triggers refuse UPDATE, DELETE and TRUNCATE (even for the
-- owner), and PUBLIC may not do them either. Each row carries the hash of the
-- row before it (prev_hash) and its own hash, sha256(prev_hash || the row's
-- canonical encoding), computed in Go by store.AppendAudit; audit_head holds
-- the newest row's id and hash, is locked by every append (so two appends can
-- never fork the chain) and lets verification notice rows removed from the
-- end. `homeward audit verify` walks the chain.

CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    -- Microsecond precision, as PostgreSQL keeps it: re-hashing is exact.
    at              timestamptz NOT NULL,
    user_id         text NOT NULL DEFAULT '',
    role            text NOT NULL DEFAULT '',
    commissioner_id text,
    action          text NOT NULL,
    resource        text NOT NULL DEFAULT '',
    episode_id      uuid,
    client_ip       text NOT NULL DEFAULT '',
    outcome         text NOT NULL,
    status          integer NOT NULL DEFAULT 0,
    request_id      text NOT NULL DEFAULT '',
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL
);
CREATE INDEX audit_log_episode_idx ON audit_log (episode_id, id DESC) WHERE episode_id IS NOT NULL;
CREATE INDEX audit_log_user_idx ON audit_log (user_id, id DESC);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- The head of the chain: exactly one row.
CREATE TABLE audit_head (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_id    bigint NOT NULL,
    last_hash  bytea NOT NULL
);
INSERT INTO audit_head (last_id, last_hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The head only moves forward and is never removed.
CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.last_id <= OLD.last_id THEN
        RAISE EXCEPTION 'audit_head only moves forward: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE DELETE, TRUNCATE ON audit_head FROM PUBLIC;

-- Reads of case data run as homeward_app (0002): let an audit row be
-- appended in the same transaction.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'homeward_app') THEN
        GRANT SELECT, INSERT ON audit_log TO homeward_app;
        GRANT SELECT, UPDATE ON audit_head TO homeward_app;
        GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO homeward_app;
    END IF;
END
$$;
