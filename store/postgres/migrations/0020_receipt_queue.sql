-- Receipts at the speed of sending (issue 19): a provider's delivery
-- receipt is stored here as it arrives, in one cheap statement, before the
-- webhook answers (answered = durable); a background applier takes the
-- rows in batches, applies them to their messages set-based and deletes
-- them in the same transaction. message_id is smsflow's id when the
-- provider echoes it (Twilio's StatusCallback ?m=), 0 when not. Only the
-- primary key: the applier takes the oldest rows, nothing else looks here.
CREATE TABLE receipt_queue (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider    TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    message_id  BIGINT NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    error_code  TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
-- Its rows live for moments: vacuumed by the rows deleted, not by a
-- fraction of a table that is nearly always empty.
ALTER TABLE receipt_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
