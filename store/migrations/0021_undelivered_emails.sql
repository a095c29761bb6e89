-- An email that nobody has received yet: every recipient, and every
-- fallback after them, was refused or could not be reached. The worker
-- keeps retrying it; while this row exists the managers see it on the
-- escalations list, with who was tried and why. The row goes when someone
-- accepts the email.
--
-- tried is a list of {"recipient": <who, in words>, "address": <email>,
-- "reason": <the relay's reply code, no text of its own>}: the addresses
-- are shown to the managers who must mend them, never written to a log.
CREATE TABLE undelivered_emails (
    message_key     text PRIMARY KEY,
    episode_id      uuid NOT NULL,
    reference       text NOT NULL,
    commissioner_id uuid REFERENCES commissioners (id),
    email           text NOT NULL CHECK (email <> ''),
    escalation_kind text NOT NULL DEFAULT '',
    action_seq      integer NOT NULL DEFAULT 0,
    tried           jsonb NOT NULL,
    since           timestamptz NOT NULL,
    last_tried_at   timestamptz NOT NULL
);
CREATE INDEX undelivered_emails_escalation_idx ON undelivered_emails (episode_id, escalation_kind, action_seq);

-- A recipient the relay refused for good (a 5xx to RCPT TO) for one email:
-- the retries of that email skip them.
CREATE TABLE email_refusals (
    message_key text NOT NULL,
    recipient   text NOT NULL,
    episode_id  uuid,
    reason      text NOT NULL,
    refused_at  timestamptz NOT NULL,
    PRIMARY KEY (message_key, recipient)
);

ALTER TABLE undelivered_emails OWNER TO homeward_owner;
ALTER TABLE email_refusals OWNER TO homeward_owner;

-- People read undelivered emails as they read escalations: a commissioner's
-- managers only their commissioner's.
GRANT SELECT ON undelivered_emails TO homeward_app;
ALTER TABLE undelivered_emails ENABLE ROW LEVEL SECURITY;
CREATE POLICY undelivered_emails_caller ON undelivered_emails FOR SELECT TO homeward_app
    USING (homeward_visible(commissioner_id, NULL)
           OR EXISTS (SELECT 1 FROM episodes e WHERE e.id = undelivered_emails.episode_id));
