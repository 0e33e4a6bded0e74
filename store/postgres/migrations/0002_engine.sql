-- The flow engine: flow versions, runs (with their timers), the outbox of
-- messages, decisions, tracked links and the engine's inbox of events to
-- process. Timers are rows (runs.wake_at), never goroutines.
CREATE TABLE flows (
    id         TEXT NOT NULL,
    version    BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    source     TEXT NOT NULL,
    file       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);

-- One row per flow id: its current version and whether it runs.
CREATE TABLE flow_heads (
    id         TEXT PRIMARY KEY,
    version    BIGINT NOT NULL,
    origin     TEXT NOT NULL,          -- file | api
    status     TEXT NOT NULL,          -- active | paused | deleted
    updated_at BIGINT NOT NULL
);

CREATE TABLE runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow_id      TEXT NOT NULL,
    flow_version BIGINT NOT NULL,
    contact_id   TEXT NOT NULL,
    status       TEXT NOT NULL,
    exit_reason  TEXT NOT NULL DEFAULT '',
    step         TEXT NOT NULL DEFAULT '',
    wake_at      BIGINT,
    holdout      BIGINT NOT NULL DEFAULT 0,
    variant      TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '{}',
    entered_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    ended_at     BIGINT NOT NULL DEFAULT 0,
    goal_at      BIGINT NOT NULL DEFAULT 0,
    goal_value   DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX runs_due ON runs (wake_at) WHERE wake_at IS NOT NULL;
CREATE INDEX runs_contact ON runs (contact_id, status);
CREATE INDEX runs_flow ON runs (flow_id, entered_at);
CREATE INDEX runs_flow_contact ON runs (flow_id, contact_id, entered_at);

CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    direction   TEXT NOT NULL,
    run_id      BIGINT,
    step_id     TEXT,
    flow_id     TEXT NOT NULL DEFAULT '',
    contact_id  TEXT NOT NULL,
    phone       TEXT NOT NULL,
    body        TEXT NOT NULL,
    encoding    TEXT NOT NULL DEFAULT '',
    characters  BIGINT NOT NULL DEFAULT 0,
    segments    BIGINT NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    provider    TEXT NOT NULL DEFAULT '',
    provider_id TEXT NOT NULL DEFAULT '',
    error_code  TEXT NOT NULL DEFAULT '',
    send_before BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (run_id, step_id)
);
CREATE INDEX messages_outbox ON messages (id) WHERE status = 'queued';
CREATE INDEX messages_contact ON messages (contact_id, created_at);
CREATE INDEX messages_flow ON messages (flow_id, created_at);

CREATE TABLE decisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id     BIGINT NOT NULL,
    step_id    TEXT NOT NULL,
    flow_id    TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    reason     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);
CREATE INDEX decisions_contact ON decisions (contact_id, at);
CREATE INDEX decisions_flow ON decisions (flow_id, at);

CREATE TABLE links (
    code       TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    run_id     BIGINT NOT NULL,
    step_id    TEXT NOT NULL,
    flow_id    TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX links_run ON links (run_id, step_id);

-- Events waiting for the engine, in arrival order; written in the same
-- transaction as the event, deleted in the same transaction as its effects.
CREATE TABLE inbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id TEXT NOT NULL,
    event_seq  BIGINT NOT NULL
);
CREATE INDEX inbox_contact ON inbox (contact_id, seq);

CREATE TABLE link_clicks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       TEXT NOT NULL,
    run_id     BIGINT NOT NULL,
    step_id    TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX link_clicks_run ON link_clicks (run_id, step_id);
