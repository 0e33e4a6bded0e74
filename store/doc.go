// Package store is smsflow's storage contract and its one SQL implementation,
// shared by every database. The differences between databases (placeholders,
// connection pools, migrations, bulk loading) are methods of a Dialect,
// supplied by the driver packages store/sqlite and store/postgres, which
// register themselves with Register; Open picks one by the DSN's scheme.
// Times are stored as integer microseconds since the Unix epoch and JSON as
// text, so the same SQL runs on both databases.
package store
