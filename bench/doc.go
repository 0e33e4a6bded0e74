// Package bench is the benchmark harness run as `smsflow bench NAME`: each
// benchmark starts smsflow on a fresh database (a temporary SQLite file, or
// a fresh schema of a PostgreSQL database) with a loopback provider,
// measures one part of the loop — ingestion, the engine's runs and timers,
// a broadcast's fan-out, the send pipeline, pacing — and prints a table.
//
// The benchmarks run the real thing: the app as `smsflow serve` builds it,
// which cmd/smsflow hands in as a Harness (this package cannot import the
// command). The figures they print are kept in docs/benchmarks.md.
package bench
