-- Delivery (provider wiring): receipts find their message by the provider's
-- id; a receipt that arrives before the sender has recorded that id waits
-- in pending_receipts and is applied when it is; a send the provider
-- refused for a while (429, 5xx, throttling) goes back to the outbox with an
-- attempt count and the moment it may be tried again.
CREATE INDEX messages_provider_id ON messages (provider, provider_id) WHERE provider_id <> '';
ALTER TABLE messages ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE pending_receipts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider    TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    error_code  TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX pending_receipts_id ON pending_receipts (provider, provider_id);
CREATE INDEX pending_receipts_age ON pending_receipts (received_at);
