-- Scheduled entries (local segments and date triggers): a scan finds each
-- matching contact's moment — a wall-clock time in its own zone — and
-- schedules its entry; the entry rules (condition, consent, unless,
-- re-entry, holdout) are checked when that moment comes, not at the scan.
-- job_key is the scan (unsharded key) that scheduled it, so one scan never
-- schedules a contact twice. An entry is not a run until it enters.
CREATE TABLE scheduled_entries (
    flow_id      TEXT NOT NULL,
    job_key      TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    flow_version BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    PRIMARY KEY (flow_id, job_key, contact_id)
);
CREATE INDEX scheduled_entries_due ON scheduled_entries (due_at, flow_id, contact_id);

-- date_skips: the missing- or invalid-date decision last recorded for a
-- contact of a date flow, so that it is recorded once (and again when it
-- changes), not at every daily scan.
CREATE TABLE date_skips (
    flow_id    TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    note       TEXT NOT NULL,
    PRIMARY KEY (flow_id, contact_id)
);
