// Package report turns the facts the flow engine records (runs, messages,
// decisions, link clicks, the consent ledger) into answers: the per-flow
// report (totals, steps in flow order, A/B variants, holdout lift) and the
// program-health report. The statistics (Wilson and Newcombe intervals, the
// two-proportion z-test) are in stats.go with their formulas and sources.
// Every query is read-only and runs unchanged on SQLite and PostgreSQL.
package report
