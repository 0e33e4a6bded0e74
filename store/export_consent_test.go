package store

// ExecForTest runs a statement in the transaction (tests that need rows the
// store's own writers would refuse, such as ledgers written before
// migration 0014).
func (t *Tx) ExecForTest(query string, args ...any) error {
	_, err := t.exec(query, args...)
	return err
}
