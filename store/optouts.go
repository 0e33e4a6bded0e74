package store

import "sync"

// optOutListeners are told, right after a write transaction commits, which
// numbers it unsubscribed: the sender checks its next provider calls against
// them, so an opt-out committed on this node stops every call that starts
// after the commit, whatever consent the sender last read from the database
// (other nodes learn it from the database; see delivery.RecheckWindow).
type optOutListeners struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(phones []string)
}

// OnOptOut registers fn to be called with the numbers each committed write
// transaction unsubscribed (consent ledger entries with status
// unsubscribed), after the commit and before WriteTx returns; fn must be
// quick and must not use the database. The returned func unregisters it.
func (db *DB) OnOptOut(fn func(phones []string)) (cancel func()) {
	l := &db.optOuts
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = map[int]func([]string){}
	}
	id := l.next
	l.next++
	l.fns[id] = fn
	return func() {
		l.mu.Lock()
		delete(l.fns, id)
		l.mu.Unlock()
	}
}

// notify tells every listener of a committed transaction's opt-outs.
func (l *optOutListeners) notify(phones []string) {
	l.mu.Lock()
	fns := make([]func([]string), 0, len(l.fns))
	for _, fn := range l.fns {
		fns = append(fns, fn)
	}
	l.mu.Unlock()
	for _, fn := range fns {
		fn(phones)
	}
}
