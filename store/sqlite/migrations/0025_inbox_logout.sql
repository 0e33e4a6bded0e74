-- The web UI's inbox lists the texts contacts sent that nothing answered
-- (issue 20, D100): consumed_by names what consumed an inbound text — a
-- keyword (consent, HELP: 'keyword:stop', …) or a flow's run it resumed or
-- started ('flow:ID/STEP') — and stays '' for the others. It is written once,
-- from '' only. The inbox reads the unconsumed ones newest first from a
-- partial index, so it never scans the texts that were consumed.
ALTER TABLE messages ADD COLUMN consumed_by TEXT NOT NULL DEFAULT '';
-- Texts stored before: a keyword fed no event to the engine, so an inbound
-- text without its 'mo-ID' event was a keyword. Which older replies a flow
-- consumed was not recorded; they stay unconsumed.
UPDATE messages SET consumed_by = 'keyword'
WHERE direction = 'in' AND NOT EXISTS (SELECT 1 FROM events WHERE events.message_id = 'mo-' || CAST(messages.id AS TEXT));
CREATE INDEX messages_replies ON messages (created_at, id) WHERE direction = 'in' AND consumed_by = '';

-- Web UI sessions that logged out (D100): the session cookie is signed and
-- stateless (D92), so logging out records the session's id (its SHA-256,
-- hex) here until the latest the cookie could still be live; every request
-- with a session checks it. Rows past expires_at are deleted at each logout.
CREATE TABLE web_logouts (
    session_hash TEXT PRIMARY KEY,
    expires_at   INTEGER NOT NULL
);
