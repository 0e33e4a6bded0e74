-- Consent ledger ordered by recording (docs/decisions.md, issue 16): a
-- number's status is that of its entry recorded last (the highest id), not
-- of the entry claiming the latest time. Before switching, numbers whose
-- status the new order would loosen (an opt-out, or a pending opt-in,
-- followed by an entry recorded later but dated earlier) get their old
-- status appended again, so an upgrade never resubscribes anyone; numbers
-- the new order tightens (a STOP recorded after an opt-in dated in the
-- future) become unsubscribed, which is the fix. The re-asserted entry keeps
-- the source, contact and message of the one it repeats, its claimed time
-- (never after the migration), and names it in the evidence. PostgreSQL
-- ranks each number's entries with window functions, several times faster
-- here than one index lookup per number (SQLite's way).
INSERT INTO consent_ledger (phone, contact_id, status, source, evidence, message_id, occurred_at, recorded_at)
SELECT x.phone, x.contact_id, x.status, x.source,
       json_build_object('reasserted_entry', x.id, 'reason', 'migration 0014: the ledger is ordered by recording; this status was the current one before the upgrade')::text,
       x.message_id, LEAST(x.occurred_at, x.now), x.now
FROM (
    SELECT id, phone, contact_id, status, source, message_id, occurred_at,
           CAST(EXTRACT(EPOCH FROM transaction_timestamp()) * 1000000 AS BIGINT) AS now,
           ROW_NUMBER() OVER (PARTITION BY phone ORDER BY occurred_at DESC, id DESC) AS by_claim,
           FIRST_VALUE(status) OVER (PARTITION BY phone ORDER BY id DESC) AS by_recording
    FROM consent_ledger
) x
WHERE x.by_claim = 1
  AND ((x.status = 'unsubscribed' AND x.by_recording <> 'unsubscribed')
    OR (x.status = 'pending' AND x.by_recording = 'subscribed'))
ORDER BY x.id;

-- Status reads go by (phone, id); the claimed time is no longer part of any
-- ordering.
DROP INDEX IF EXISTS consent_ledger_phone;
CREATE INDEX consent_ledger_phone ON consent_ledger (phone, id);
