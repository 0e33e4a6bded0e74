-- The web UI's message log (issue 20, D95) lists messages newest first by
-- when they were recorded, filtered by flow, contact, direction, status
-- and dates, a page at a time: created_at orders the unfiltered log and
-- bounds its date ranges (written once per message, never updated); the
-- few "unknown" messages an operator must decide on are found without
-- scanning. Flow, contact and inbound filters use the indexes that exist.
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX messages_unknown ON messages (created_at) WHERE status = 'unknown';
