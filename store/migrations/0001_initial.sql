-- Homeward case records: a projection of the episode workflows, written only
-- by idempotent Temporal activities. Every instant is timestamptz (UTC).

CREATE TABLE users (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('coordinator', 'interviewer', 'manager', 'admin')),
    token_hash  bytea NOT NULL UNIQUE,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX users_role_active_idx ON users (role, email) WHERE active;

CREATE TABLE children (
    id             uuid PRIMARY KEY,
    first_name     text NOT NULL DEFAULT '',
    last_name      text NOT NULL DEFAULT '',
    date_of_birth  date,
    gender         text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE episodes (
    id                       uuid PRIMARY KEY,
    reference                text NOT NULL,
    child_id                 uuid REFERENCES children (id),
    status                   text NOT NULL,
    category                 text NOT NULL DEFAULT '',
    risk_grade               text NOT NULL DEFAULT '',
    looked_after             boolean NOT NULL DEFAULT false,
    police_reference         text NOT NULL DEFAULT '',
    referral_source          text NOT NULL DEFAULT '',
    reported_missing_at      timestamptz,
    returned_at              timestamptz NOT NULL,
    opened_at                timestamptz NOT NULL,
    opened_by                text NOT NULL DEFAULT '',
    offer_deadline           timestamptz NOT NULL,
    offer_made_at            timestamptz,
    offer_within_deadline    boolean,
    offers                   integer NOT NULL DEFAULT 0,
    declines                 integer NOT NULL DEFAULT 0,
    -- No foreign key: the workflow may name an interviewer the records do not know.
    assigned_interviewer_id  uuid,
    next_contact_method      text,
    next_contact_due_at      timestamptz,
    next_contact_purpose     text,
    follow_up_due_at         timestamptz,
    follow_up_completed_at   timestamptz,
    ended_at                 timestamptz,
    contact                  jsonb NOT NULL DEFAULT '{}'::jsonb,
    preferences              jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The whole episode.State snapshot (without contact details).
    state                    jsonb NOT NULL,
    state_version            bigint NOT NULL,
    -- Last change recorded in the snapshot (workflow time).
    updated_at               timestamptz NOT NULL,
    -- When the projection was last written (database time).
    projected_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX episodes_status_idx ON episodes (status, offer_deadline, id);
CREATE INDEX episodes_assignee_idx ON episodes (assigned_interviewer_id, offer_deadline, id);
CREATE INDEX episodes_offer_deadline_idx ON episodes (offer_deadline, id);
CREATE INDEX episodes_child_idx ON episodes (child_id);

CREATE TABLE contact_attempts (
    episode_id    uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    seq           integer NOT NULL,
    method        text NOT NULL,
    outcome       text NOT NULL,
    attempted_at  timestamptz NOT NULL,
    notes         text NOT NULL DEFAULT '',
    recorded_by   text NOT NULL DEFAULT '',
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (episode_id, seq)
);

-- The history of interview updates, in order.
CREATE TABLE interviews (
    episode_id     uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    seq            integer NOT NULL,
    outcome        text NOT NULL,
    scheduled_for  timestamptz,
    held_at        timestamptz,
    venue          text NOT NULL DEFAULT '',
    notes          text NOT NULL DEFAULT '',
    record         jsonb,
    recorded_by    text NOT NULL DEFAULT '',
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (episode_id, seq)
);

CREATE TABLE agreements (
    episode_id                uuid PRIMARY KEY REFERENCES episodes (id) ON DELETE CASCADE,
    confidentiality_explained boolean NOT NULL,
    child_told_before_sharing boolean NOT NULL,
    shared_with               jsonb NOT NULL DEFAULT '[]'::jsonb,
    notes                     text NOT NULL DEFAULT '',
    recorded_by               text NOT NULL DEFAULT '',
    recorded_at               timestamptz NOT NULL
);

CREATE TABLE follow_ups (
    episode_id     uuid PRIMARY KEY REFERENCES episodes (id) ON DELETE CASCADE,
    due_at         timestamptz NOT NULL,
    overdue_at     timestamptz NOT NULL,
    completed_at   timestamptz,
    actions_taken  jsonb NOT NULL DEFAULT '[]'::jsonb,
    outcome        text NOT NULL DEFAULT '',
    recorded_by    text NOT NULL DEFAULT ''
);

-- No foreign key to episodes: the email activity may record an escalation
-- before the first snapshot of its episode commits.
CREATE TABLE escalations (
    id            bigserial PRIMARY KEY,
    episode_id    uuid NOT NULL,
    reference     text NOT NULL DEFAULT '',
    kind          text NOT NULL,
    reason        text NOT NULL DEFAULT '',
    due_at        timestamptz NOT NULL,
    triggered_at  timestamptz NOT NULL,
    sent_at       timestamptz,
    recipients    integer NOT NULL DEFAULT 0,
    UNIQUE (episode_id, kind)
);
CREATE INDEX escalations_triggered_idx ON escalations (triggered_at DESC, id DESC);
CREATE INDEX escalations_kind_idx ON escalations (kind, triggered_at DESC, id DESC);

-- One row per email actually handed to the mail server.
CREATE TABLE email_deliveries (
    message_key  text NOT NULL,
    recipient    text NOT NULL,
    message_id   text NOT NULL DEFAULT '',
    sent_at      timestamptz NOT NULL,
    PRIMARY KEY (message_key, recipient)
);

CREATE TABLE timeline (
    episode_id  uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    at          timestamptz NOT NULL,
    type        text NOT NULL,
    summary     text NOT NULL DEFAULT '',
    actor       text NOT NULL DEFAULT '',
    PRIMARY KEY (episode_id, seq)
);
