-- Foundation: settings, contacts, anonymous ids, events, the consent ledger.
-- Times are integer microseconds since the Unix epoch; JSON is text.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE contacts (
    id              TEXT PRIMARY KEY,
    phone           TEXT UNIQUE,
    phone_type      TEXT NOT NULL DEFAULT '',
    timezone        TEXT NOT NULL DEFAULT '',
    timezone_source TEXT NOT NULL DEFAULT '',
    timezones       TEXT NOT NULL DEFAULT '[]',
    traits          TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE aliases (
    alias      TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL
);
CREATE INDEX aliases_contact ON aliases (contact_id);

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL UNIQUE,
    dedupe_key   TEXT UNIQUE,
    type         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    contact_id   TEXT NOT NULL,
    anonymous_id TEXT NOT NULL DEFAULT '',
    properties   TEXT NOT NULL DEFAULT '{}',
    traits       TEXT NOT NULL DEFAULT '{}',
    context      TEXT NOT NULL DEFAULT '{}',
    ts           INTEGER NOT NULL,
    received_at  INTEGER NOT NULL
);
CREATE INDEX events_contact_ts ON events (contact_id, ts);

CREATE TABLE consent_ledger (
    id          INTEGER PRIMARY KEY,
    phone       TEXT NOT NULL,
    contact_id  TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    evidence    TEXT NOT NULL DEFAULT '{}',
    message_id  TEXT NOT NULL DEFAULT '',
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX consent_ledger_phone ON consent_ledger (phone, occurred_at, id);
