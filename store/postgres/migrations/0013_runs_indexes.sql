-- Engine speed (docs/decisions.md D34): runs_flow_contact (flow_id,
-- contact_id, entered_at) served the per-flow last-entry read, which now
-- reads a batch of contacts at once through runs_contact (store/batch.go);
-- no query uses it, and every run is inserted and updated.
DROP INDEX IF EXISTS runs_flow_contact;
