// Package ingest is the trigger end of the loop: it turns what arrives —
// Segment-style identify/track calls (parsed by ingest/segment), Shopify
// webhooks (ingest/shopify), imports, consent changes, the texts contacts
// send (InboundTexts, which delivery.ProviderEvents hands every provider's
// inbound texts to) — into durable contacts, events and consent-ledger rows.
// Writes from many callers are group
// committed: one transaction carries every item that arrived while the
// previous one was committing, so a 2xx always means "on disk" without paying
// one commit per event.
package ingest
