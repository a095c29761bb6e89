-- Answers the episodes gave to recorded outcomes, written by the episode's
-- own projection in the transaction that records the outcome, so that a
-- client retrying with the same Idempotency-Key gets the first answer,
-- also after the episode has ended and its workflow history is gone.
-- update_id is derived from the caller and their key; no personal data.
CREATE TABLE outcome_answers (
    update_id    text PRIMARY KEY,
    episode_id   uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    request_hash text NOT NULL,
    answer       jsonb NOT NULL,
    saved_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outcome_answers_episode_idx ON outcome_answers (episode_id);

-- Referrals opened with an Idempotency-Key: reserved before the episode's
-- workflow is started, marked once it is, and kept for as long as the key
-- may come back, so a key is never used to open a second episode even
-- after Temporal has deleted the first one's history.
CREATE TABLE referral_keys (
    key_id       text PRIMARY KEY,
    episode_id   uuid NOT NULL UNIQUE,
    request_hash text NOT NULL,
    answer       bytea NOT NULL, -- the first answer's body, byte for byte
    started_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE outcome_answers OWNER TO homeward_owner;
ALTER TABLE referral_keys OWNER TO homeward_owner;
