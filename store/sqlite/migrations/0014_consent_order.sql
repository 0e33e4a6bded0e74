-- Consent ledger ordered by recording (docs/decisions.md, issue 16): a
-- number's status is that of its entry recorded last (the highest id), not
-- of the entry claiming the latest time. Before switching, numbers whose
-- status the new order would loosen (an opt-out, or a pending opt-in,
-- followed by an entry recorded later but dated earlier) get their old
-- status appended again, so an upgrade never resubscribes anyone; numbers
-- the new order tightens (a STOP recorded after an opt-in dated in the
-- future) become unsubscribed, which is the fix. The re-asserted entry keeps
-- the source, contact and message of the one it repeats, its claimed time
-- (never after the migration), and names it in the evidence. SQLite finds
-- each number's two latest entries by index lookups (the old index serves
-- the by-claim one), several times faster here than the window functions
-- PostgreSQL uses.
INSERT INTO consent_ledger (phone, contact_id, status, source, evidence, message_id, occurred_at, recorded_at)
SELECT o.phone, o.contact_id, o.status, o.source,
       json_object('reasserted_entry', o.id, 'reason', 'migration 0014: the ledger is ordered by recording; this status was the current one before the upgrade'),
       o.message_id, MIN(o.occurred_at, x.now), x.now
FROM (
    SELECT p.phone,
           (SELECT c.id FROM consent_ledger c WHERE c.phone = p.phone ORDER BY c.occurred_at DESC, c.id DESC LIMIT 1) AS by_claim,
           (SELECT MAX(c.id) FROM consent_ledger c WHERE c.phone = p.phone) AS by_recording,
           CAST(strftime('%s', 'now') AS INTEGER) * 1000000 AS now
    FROM (SELECT DISTINCT phone FROM consent_ledger) p
) x
JOIN consent_ledger o ON o.id = x.by_claim
JOIN consent_ledger r ON r.id = x.by_recording
WHERE x.by_claim <> x.by_recording
  AND ((o.status = 'unsubscribed' AND r.status <> 'unsubscribed')
    OR (o.status = 'pending' AND r.status = 'subscribed'))
ORDER BY o.id;
DROP INDEX IF EXISTS consent_ledger_phone;
CREATE INDEX consent_ledger_phone ON consent_ledger (phone, id);
