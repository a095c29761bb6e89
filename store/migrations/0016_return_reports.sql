-- Return reports: what the commissioner receives after a held interview,
-- built from the case records by the episode's workflow once the agreement
-- is recorded. Each production is a new version; the newest is the report.
CREATE TABLE return_reports (
    episode_id      uuid NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    version         integer NOT NULL,
    pdf             bytea NOT NULL,
    html            text NOT NULL,
    produced_at     timestamptz NOT NULL,
    approved_by     text,
    approved_at     timestamptz,
    sent_at         timestamptz,
    acknowledged_by text,
    acknowledged_at timestamptz,
    PRIMARY KEY (episode_id, version)
);

ALTER TABLE return_reports OWNER TO homeward_owner;

-- The provider's staff read reports as they read the case records. A
-- commissioner's officers see no case rows (homeward_visible gives them
-- nothing), so the store reads reports for them through its own login,
-- scoped to their commissioner in SQL.
GRANT SELECT ON return_reports TO homeward_app;
ALTER TABLE return_reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY return_reports_caller ON return_reports FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM episodes e WHERE e.id = return_reports.episode_id));
