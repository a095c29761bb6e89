-- Action plans: the actions agreed after a held interview, who owns each
-- and by when, and what the follow-up found of each. Rows stay after the
-- follow-up (an action carried forward keeps its new date and reason), so
-- the record shows what was promised and what became of it.
CREATE TABLE action_plan_actions (
    episode_id         uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    seq                integer NOT NULL,
    what               text NOT NULL,
    owner              text NOT NULL,
    owner_email        text NOT NULL DEFAULT '',
    due_at             timestamptz NOT NULL,
    status             text NOT NULL,
    reason             text NOT NULL DEFAULT '',
    carried_forward_to timestamptz,
    reviewed_at        timestamptz,
    reminder_sent      boolean NOT NULL DEFAULT false,
    recorded_by        text NOT NULL DEFAULT '',
    recorded_at        timestamptz NOT NULL,
    PRIMARY KEY (episode_id, seq)
);

-- What parents or carers said of the time the child was away, recorded
-- when the child declines or cannot be reached.
CREATE TABLE carers_accounts (
    episode_id      uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    seq             integer NOT NULL,
    given_by        text NOT NULL,
    relationship    text NOT NULL DEFAULT '',
    given_at        timestamptz NOT NULL,
    where_child_was text NOT NULL DEFAULT '',
    who_with        text NOT NULL DEFAULT '',
    notes           text NOT NULL DEFAULT '',
    recorded_by     text NOT NULL DEFAULT '',
    recorded_at     timestamptz NOT NULL,
    PRIMARY KEY (episode_id, seq)
);

-- An overdue action escalates once per action: the escalation's key gains
-- the action's number (0 for the kinds raised once per episode).
ALTER TABLE escalations ADD COLUMN action_seq integer NOT NULL DEFAULT 0;
ALTER TABLE escalations DROP CONSTRAINT escalations_episode_id_kind_key;
ALTER TABLE escalations ADD CONSTRAINT escalations_episode_kind_action_key UNIQUE (episode_id, kind, action_seq);

ALTER TABLE action_plan_actions OWNER TO homeward_owner;
ALTER TABLE carers_accounts OWNER TO homeward_owner;

GRANT SELECT ON action_plan_actions, carers_accounts TO homeward_app;
ALTER TABLE action_plan_actions ENABLE ROW LEVEL SECURITY;
CREATE POLICY action_plan_actions_caller ON action_plan_actions FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = action_plan_actions.episode_id));
ALTER TABLE carers_accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY carers_accounts_caller ON carers_accounts FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = carers_accounts.episode_id));
