-- Crash recovery of sends (issue 19): a claimed message records the node
-- that claimed it (claimed_by) and the round's claim token (claim); called_at
-- is set, in its own committed write, right before the provider call may
-- start. At restart (or when the claiming node's heartbeat is stale, on
-- another node) a "sending" message with called_at 0 was never handed to
-- the provider and goes back to the queue; one with called_at set may have
-- reached it and becomes "unknown" (reconciled where the provider can be
-- asked). Times are µs.
ALTER TABLE messages ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN called_at INTEGER NOT NULL DEFAULT 0;
-- Claimed by an older binary, which marked a whole round before its calls:
-- any of them may have reached the provider.
UPDATE messages SET called_at = updated_at WHERE status = 'sending';
-- The few rows in flight, found without scanning the table (recovery).
CREATE INDEX messages_sending ON messages (claimed_by) WHERE status = 'sending';
