-- The web UI's message log filtered by a flow and a status an operator
-- looks for (issue 20, D99): the few undelivered, failed or canceled
-- messages of one flow over a date range are one index range, newest first,
-- instead of every message of the flow in that range read to find them.
-- Partial: an entry is written only when a message enters one of these
-- rare states, so the send path (queued, sending, sent, delivered) pays
-- nothing for them.
CREATE INDEX messages_undelivered ON messages (flow_id, created_at) WHERE status = 'undelivered';
CREATE INDEX messages_failed ON messages (flow_id, created_at) WHERE status = 'failed';
CREATE INDEX messages_canceled ON messages (flow_id, created_at) WHERE status = 'canceled';
