-- Trust: which events came from the public write
-- key, which phone numbers are verified, which traits the write key set.
--
-- Events stored before this migration came from back ends (the write key
-- was the only ingestion key) and from smsflow itself: they count as
-- trusted, like the runs they started.
ALTER TABLE events ADD COLUMN trust TEXT NOT NULL DEFAULT 'trusted';

-- A number is verified when a trusted source set it (server or admin key,
-- Shopify, an import) or it texted in; a number that opted in in the
-- consent ledger counts as verified without this flag. Existing numbers
-- were set without telling keys apart, so only the ones smsflow can vouch
-- for are verified here: numbers that texted in, and the contacts smsflow
-- made itself from an inbound text, an import row (phone:…) or a Shopify
-- webhook (shopify:…). Back ends re-verify the others by sending an
-- identify with the server key.
ALTER TABLE contacts ADD COLUMN phone_verified BIGINT NOT NULL DEFAULT 0;
UPDATE contacts SET phone_verified = 1
WHERE phone IS NOT NULL AND (
    id LIKE 'phone:%' OR id LIKE 'shopify:%'
    OR EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = contacts.id AND m.direction = 'in' AND m.phone = contacts.phone)
);

-- The trait keys whose value an event from the write key set (JSON list):
-- templates print them as plain text. Existing traits count as trusted.
ALTER TABLE contacts ADD COLUMN public_traits TEXT NOT NULL DEFAULT '[]';
