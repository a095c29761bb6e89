-- Names compared in their Unicode case-folded, NFC form, computed by the
-- application (store.NameKey) so no database locale decides that "ZOË" is
-- "Zoë" or "ŁUKASZ" is "Łukasz". NULL until filled: Migrate fills the rows
-- that were there before, in Go, after this file.
ALTER TABLE children ADD COLUMN first_name_key text, ADD COLUMN last_name_key text;
CREATE INDEX children_name_keys ON children (commissioner_id, first_name_key, last_name_key);
