-- The audit chain is built behind the requests, not by them. A request
-- inserts its row with its contents and no hash (prev_hash, hash and
-- chain_pos NULL), taking no lock; the chainer (store.ChainAudit) then gives
-- each such row, oldest id first, the next place in the chain under the
-- audit_head row lock, in batches, within about a second.
--
-- chain_pos is the row's place in the chain, which is the order the chainer
-- saw rows committed, not necessarily id order: ids come from a sequence and
-- their transactions may commit out of order, and a row committed late is
-- simply chained after the rows already chained. So no row is ever skipped
-- and no grace period is guessed. Verification walks chain_pos order. Rows
-- chained before this migration were chained in id order, so their place
-- is their id.

ALTER TABLE audit_log
    ALTER COLUMN prev_hash DROP NOT NULL,
    ALTER COLUMN hash DROP NOT NULL,
    ADD COLUMN chain_pos bigint;
ALTER TABLE audit_head ADD COLUMN last_pos bigint;

-- Rows may still never be deleted or have their contents changed; the one
-- change allowed is giving a row without a place its place (and its hashes,
-- when it has none yet). Verification catches a wrong one.
CREATE FUNCTION audit_log_chain_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.chain_pos IS NULL AND NEW.chain_pos IS NOT NULL
       AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL
       AND (OLD.hash IS NULL OR (NEW.hash = OLD.hash AND NEW.prev_hash = OLD.prev_hash))
       AND ROW(NEW.id, NEW.at, NEW.user_id, NEW.role, NEW.commissioner_id, NEW.action, NEW.resource,
               NEW.episode_id, NEW.client_ip, NEW.outcome, NEW.status, NEW.request_id)
           IS NOT DISTINCT FROM
           ROW(OLD.id, OLD.at, OLD.user_id, OLD.role, OLD.commissioner_id, OLD.action, OLD.resource,
               OLD.episode_id, OLD.client_ip, OLD.outcome, OLD.status, OLD.request_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: only an unchained row may be given its place in the chain'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
ALTER FUNCTION audit_log_chain_only() OWNER TO homeward_owner;

DROP TRIGGER audit_log_no_update_delete ON audit_log;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_chain_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain_only();

-- The head moves forward by place; last_id names the row at the head, whose
-- id may be lower than the one before it.
CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.last_pos IS NULL
       OR (OLD.last_pos IS NOT NULL AND NEW.last_pos <= OLD.last_pos) THEN
        RAISE EXCEPTION 'audit_head only moves forward: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

UPDATE audit_log SET chain_pos = id;
UPDATE audit_head SET last_pos = last_id;
ALTER TABLE audit_head ALTER COLUMN last_pos SET NOT NULL;

CREATE UNIQUE INDEX audit_log_chain_pos_idx ON audit_log (chain_pos);
-- The chainer's work: rows without hashes (a row with a hash but no place
-- was not written by Homeward, and is left for verification to report).
CREATE INDEX audit_log_unchained_idx ON audit_log (id) WHERE hash IS NULL;
