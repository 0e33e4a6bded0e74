// Package shopify receives Shopify's webhooks (orders, checkouts,
// customers): it verifies each delivery's signature, maps its topic to
// smsflow events and an SMS consent change (Map, DecideConsent, both pure),
// and writes them through ingest's group-commit writer in one transaction
// with the delivery's webhook id, so a retry stores nothing twice. It sits
// next to ingest/segment, the other outside source with its own payloads.
package shopify
