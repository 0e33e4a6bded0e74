// Package engine is the execution part of the loop: it takes stored events
// and due timers, enters contacts into flows (after the entry rules), walks
// their runs step by step — sends through the one policy check into the
// outbox, waits as timer rows, branches, exits, goals — and records every
// decision. One contact's work happens in one transaction under that
// contact's lock, so a run is never advanced twice at once, also across
// several nodes on one PostgreSQL. `serve` and `simulate` run this same code;
// only the clock differs.
package engine
