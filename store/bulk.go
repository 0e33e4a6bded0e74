package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/smsflow/smsflow"
)

// Bulk loading, for the benchmarks: they seed a million contacts or queued
// messages before they measure, and one INSERT per row (the live paths:
// InsertContact, AppendConsent, InsertMessage, each with its checks) would
// make the seeding many times slower than what it prepares. These write
// the same columns the live paths write, with multi-row statements.

// bulkRows is how many rows one multi-row INSERT writes: well under
// PostgreSQL's 65,535 bind parameters and SQLite's 32,766 at the widest row.
const bulkRows = 1000

// BulkInsertContacts writes new contacts, and the consent entries given,
// in multi-row INSERTs inside one transaction. It checks nothing the live
// paths check (an existing contact, the ledger's rule of AppendConsent, the
// engine's inbox): it is for loading a database that holds none of them.
func (db *DB) BulkInsertContacts(ctx context.Context, contacts []smsflow.Contact, consent []smsflow.ConsentEntry) error {
	return db.WriteTx(ctx, func(t *Tx) error {
		err := bulkInsert(t, `INSERT INTO contacts (`+contactColumns+`) VALUES `, 11, len(contacts), func(i int) []any {
			return contactArgs(&contacts[i])
		})
		if err != nil {
			return fmt.Errorf("bulk insert contacts: %w", err)
		}
		err = bulkInsert(t, `INSERT INTO consent_ledger (phone, contact_id, status, source, evidence, message_id, occurred_at, recorded_at) VALUES `, 8, len(consent), func(i int) []any {
			e := &consent[i]
			ev := e.Evidence
			if ev == nil {
				ev = map[string]any{}
			}
			return []any{e.Phone, e.ContactID, string(e.Status), string(e.Source), mustJSON(ev), e.MessageID, micros(e.OccurredAt), micros(e.RecordedAt)}
		})
		if err != nil {
			return fmt.Errorf("bulk insert consent: %w", err)
		}
		return nil
	})
}

// BulkInsertMessages writes messages (queued ones, for the outbox) in
// multi-row INSERTs inside one transaction. Unlike InsertMessage it does not
// skip a second message for a run's step: a duplicate is an error.
func (db *DB) BulkInsertMessages(ctx context.Context, messages []smsflow.Message) error {
	return db.WriteTx(ctx, func(t *Tx) error {
		err := bulkInsert(t, `INSERT INTO messages (`+messageInsertColumns+`) VALUES `, 19, len(messages), func(i int) []any {
			m := &messages[i]
			// As InsertMessage stores them: a message without a run keeps its
			// step id (an automatic reply's), run_id NULL.
			var runID sql.NullInt64
			var stepID sql.NullString
			if m.RunID != 0 || m.StepID != "" {
				runID, stepID = sql.NullInt64{Int64: m.RunID, Valid: m.RunID != 0}, sql.NullString{String: m.StepID, Valid: true}
			}
			return []any{m.Direction, runID, stepID, m.FlowID, m.ContactID, m.Phone, m.Body, m.Encoding, m.Characters, m.Segments,
				m.Status, m.Provider, m.ProviderID, m.ErrorCode, micros(m.SendBefore), micros(m.CreatedAt), micros(m.UpdatedAt), m.Category, m.Sender}
		})
		if err != nil {
			return fmt.Errorf("bulk insert messages: %w", err)
		}
		return nil
	})
}

// RefreshStatistics has PostgreSQL's planner take the statistics of the
// tables now (ANALYZE), so that queries right after a bulk load are planned
// for the tables' real size; SQLite needs nothing.
func (db *DB) RefreshStatistics(ctx context.Context, tables ...string) error {
	if db.dialect.Name() != "postgres" {
		return nil
	}
	for _, table := range tables {
		if _, err := db.write.ExecContext(ctx, `ANALYZE `+table); err != nil {
			return fmt.Errorf("analyze %s: %w", table, err)
		}
	}
	return nil
}

// bulkInsert writes n rows of cols columns with insert (ending in VALUES),
// at most bulkRows a statement; row(i) gives row i's values.
func bulkInsert(t *Tx, insert string, cols, n int, row func(i int) []any) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	args := make([]any, 0, min(n, bulkRows)*cols)
	for from := 0; from < n; from += bulkRows {
		to := min(from+bulkRows, n)
		args = args[:0]
		for i := from; i < to; i++ {
			args = append(args, row(i)...)
		}
		q := insert + strings.TrimSuffix(strings.Repeat(one+", ", to-from), ", ")
		if _, err := t.tx.ExecContext(t.ctx, t.db.dialect.Rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}
