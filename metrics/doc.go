// Package metrics serves GET /metrics in the Prometheus text format, for
// operating smsflow: events ingested, decisions by kind and provider calls
// are counted by this process (Prometheus sums them over nodes); runs by
// state, messages by provider and status, the outbox, the engine's inbox and
// the timer lag are read from the database when scraped, so every node
// reports the same, correct numbers. The database snapshot is cached (5 s or
// ten times as long as it took, whichever is longer), so many scrapers
// cannot load the database.
//
// main wires it: New, then the hooks (Engine.OnTrace, Writer.OnApplied),
// Provider around the sender's provider, and Handler on the HTTP server.
package metrics
