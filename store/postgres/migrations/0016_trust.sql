-- Trust: which events came from the public write
-- key, which phone numbers are verified, which traits the write key set.
--
-- Events stored before this migration came from back ends (the write key
-- was the only ingestion key) and from smsflow itself: they count as
-- trusted, like the runs they started.
ALTER TABLE events ADD COLUMN trust TEXT NOT NULL DEFAULT 'trusted';

-- Who vouches for a contact's number: 'trusted' (verified: a trusted
-- source set it — server or admin key, Shopify, an import — or it texted
-- in), 'public' (only the write key: a trusted source may take it over),
-- '' (nobody yet). A number subscribed in the consent ledger counts as
-- verified whatever this says. Existing numbers were set without telling
-- keys apart: only those smsflow can vouch for are verified here — numbers
-- that texted in, and contacts smsflow made itself from an inbound text,
-- an import row (phone:…) or a Shopify webhook (shopify:…); the others
-- stay '' (not verified, yet never taken over) until a back end sends them
-- with the server key.
ALTER TABLE contacts ADD COLUMN phone_trust TEXT NOT NULL DEFAULT '';
UPDATE contacts SET phone_trust = 'trusted'
WHERE phone IS NOT NULL AND (
    id LIKE 'phone:%' OR id LIKE 'shopify:%'
    OR EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = contacts.id AND m.direction = 'in' AND m.phone = contacts.phone)
);

-- The trait keys whose value an event from the write key set (JSON list):
-- templates print them as plain text. Existing traits count as trusted.
ALTER TABLE contacts ADD COLUMN public_traits TEXT NOT NULL DEFAULT '[]';
