-- Shopify webhooks (POST /webhooks/shopify): every delivery's
-- X-Shopify-Webhook-Id, claimed in the transaction that stores what the
-- delivery meant, so a retry — even after a restart — is answered 200 and
-- stored nothing twice. received_at (µs) lets old rows be pruned.
CREATE TABLE shopify_webhooks (
    webhook_id   TEXT PRIMARY KEY,
    topic        TEXT NOT NULL,
    shop         TEXT NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL
);
CREATE INDEX shopify_webhooks_received ON shopify_webhooks (received_at);
