-- A legal hold belongs to the commissioner of the user who placed it (NULL
-- when the provider's staff placed it): only that commissioner's managers,
-- or the provider's, may release it. Who placed it (placed_by) and who
-- released it, when (released_by, released_at), were recorded already; a
-- released hold stays as history while the child's records exist.
ALTER TABLE legal_holds ADD COLUMN commissioner_id uuid REFERENCES commissioners (id);

-- Holds placed before: the placer's commissioner, when the placer is a
-- known user (placed_by is text, so compare as text).
UPDATE legal_holds h SET commissioner_id = u.commissioner_id
FROM users u
WHERE u.id::text = h.placed_by;

-- A person reads a child's holds as homeward_app: a hold is visible with
-- its child, which is visible through a visible episode. The purge and the
-- writes run as the owner, which these policies do not hold.
GRANT SELECT ON legal_holds TO homeward_app;
ALTER TABLE legal_holds ENABLE ROW LEVEL SECURITY;
CREATE POLICY legal_holds_caller ON legal_holds FOR SELECT TO homeward_app
    USING (EXISTS (SELECT 1 FROM children c WHERE c.id = legal_holds.child_id));
