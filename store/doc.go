// Package store is smsflow's storage contract and its one SQL implementation,
// shared by every database. The differences between databases (placeholders,
// connection pools, migrations, bulk loading) are methods of a Dialect,
// supplied by the driver packages store/sqlite and store/postgres, which
// register themselves with Register; Open picks one by the DSN's scheme.
// Times are stored as integer microseconds since the Unix epoch and JSON as
// text, so the same SQL runs on both databases.
//
// Files are grouped by table or concern: contacts.go and aliases.go
// (contacts), consent.go (the consent ledger), events.go, inbox.go (events
// waiting for the engine), runs.go, messages.go and outbox.go (sending),
// decisions.go, links.go (tracked links and their clicks), receipts.go
// (pending delivery receipts), inactivity.go, segmentjobs.go and
// schedules.go (timers; wake.go finds the next), pacing.go, flows.go,
// nodes.go, settings.go, shopify.go, locks.go; db.go, migrate.go and
// columns.go hold the transaction plumbing, batch.go its prefetch and
// write-behind layer.
//
// What every method promises is checked, on both databases, by the contract
// suite in store/storetest (Exercise).
package store
