-- Triggers that fire on time rather than on an event.
-- inactivity_timers: one per (flow, contact) with the deadline that the
-- contact's next qualifying event pushes back.
CREATE TABLE inactivity_timers (
    flow_id    TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    due_at     BIGINT NOT NULL,
    event_seq  BIGINT NOT NULL,
    PRIMARY KEY (flow_id, contact_id)
);
CREATE INDEX inactivity_due ON inactivity_timers (due_at);

-- segment_jobs: one scheduled scan of every contact for a segment trigger;
-- cursor is the last contact id scanned, so a crash resumes where it was.
CREATE TABLE segment_jobs (
    flow_id      TEXT NOT NULL,
    job_key      TEXT NOT NULL,
    flow_version BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    cursor       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'pending',
    entered      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (flow_id, job_key)
);
CREATE INDEX segment_jobs_due ON segment_jobs (status, due_at);
