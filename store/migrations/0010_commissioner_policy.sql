-- Each commissioner's protocol: the durations and counts that govern its
-- episodes, its strategy-meeting trigger and the addresses at the
-- commissioner that receive escalations besides the managers.
--
-- Every change is a new version, kept as history with who made it and
-- when (and the request, which finds its audit row); the newest version is
-- the commissioner's policy. A commissioner with no version has the
-- configured defaults. An episode fixes the policy it opened under into
-- its workflow, so a new version applies to episodes opened after it.
--
-- policy is episode.Policy as JSON (durations in nanoseconds). Ids only:
-- no personal data of children; the addresses are team mailboxes.
-- Written and read by the API's login, for admins and managers only (the
-- API checks who may), never read as homeward_app.
CREATE TABLE policy_versions (
    commissioner_id uuid NOT NULL REFERENCES commissioners (id),
    version         integer NOT NULL CHECK (version > 0),
    policy          jsonb NOT NULL,
    changed_by      uuid NOT NULL,
    changed_at      timestamptz NOT NULL,
    request_id      text NOT NULL DEFAULT '',
    PRIMARY KEY (commissioner_id, version)
);

ALTER TABLE policy_versions OWNER TO homeward_owner;
