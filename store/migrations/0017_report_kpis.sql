-- The KPI report counts return reports by when each was due: the held
-- interview plus the commissioner's report_due. The projection keeps where
-- the episode's report stands on the episode, so the report reads one
-- index of one commissioner's episodes, as for the other figures.
ALTER TABLE episodes ADD COLUMN report_due_by timestamptz;
ALTER TABLE episodes ADD COLUMN report_sent_at timestamptz;
ALTER TABLE episodes ADD COLUMN report_acknowledged_at timestamptz;

CREATE INDEX episodes_kpi_report_idx ON episodes (commissioner_id, report_due_by)
    INCLUDE (report_sent_at, report_acknowledged_at) WHERE report_due_by IS NOT NULL;
