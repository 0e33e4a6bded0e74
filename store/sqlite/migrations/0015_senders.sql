-- Senders (issue 15 item 6): a provider may send as several senders (numbers,
-- short codes, Messaging Services), each with its own pace. messages.sender
-- is the one a message goes out from, as configured (twilio from or
-- messaging_service_sid, smpp source_addr, http from): '' while it is queued
-- for the default sender — the first configured, whichever that is when it
-- goes, so rows older than this migration are the default's — and the
-- address it went from once sent.
ALTER TABLE messages ADD COLUMN sender TEXT NOT NULL DEFAULT '';

-- Each sender's rounds claim their own queued messages in id order: the
-- outbox index leads with the sender (it replaces messages_outbox, which had
-- the id alone; a second index on the queued rows would be written twice as
-- often for nothing).
DROP INDEX IF EXISTS messages_outbox;
CREATE INDEX messages_outbox_sender ON messages (sender, id) WHERE status = 'queued';
