package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// The contract suite (the model is River's riverdrivertest): one subtest per
// exported method of store.DB and store.Tx that touches the database, named
// "DB.Method" or "Tx.Method", asserting what the method's doc promises on an
// empty database. Both databases run the same cases: store/sqlite and
// store/postgres call Exercise from their tests, and
// TestContractCoversEveryMethod fails when a method has neither a case nor
// a reason to have none.

// A contractCase is the contract of one method.
type contractCase struct {
	method string // "DB.Contact", "Tx.InsertRun"
	test   func(t *testing.T, db *store.DB)
}

// cases are every contract case, one group per table or concern.
func cases() []contractCase {
	var all []contractCase
	for _, group := range [][]contractCase{
		contactCases(), consentCases(), eventCases(), inboxCases(), runCases(),
		messageCases(), outboxCases(), linkCases(), receiptCases(), timerCases(),
		pacingCases(), flowCases(), nodeCases(), databaseCases(), bulkCases(), batchCases(),
		replyCases(), webLogoutCases(),
	} {
		all = append(all, group...)
	}
	return all
}

// Exercise runs the contract on the database kind dsn makes (SQLiteDSN,
// PostgresDSN). The cases share one migrated database, emptied before each
// case (every table but schema_migrations; PostgreSQL's sequences start
// over), and run one at a time: migrating a database per case would cost
// far more than the cases. A case that closes its database gets one of its
// own.
func Exercise(t *testing.T, dsn func(testing.TB) string) {
	t.Helper()
	shared := dsn(t)
	db := OpenMigrated(t, shared)
	empty := emptier(t, shared)
	seen := map[string]bool{}
	for _, c := range cases() {
		if seen[c.method] {
			t.Fatalf("two contract cases for %s", c.method)
		}
		seen[c.method] = true
		t.Run(c.method, func(t *testing.T) {
			if closesTheDatabase[c.method] {
				c.test(t, OpenMigrated(t, dsn(t)))
				return
			}
			empty(t)
			db.SetRelevant(nil)
			c.test(t, db)
		})
	}
}

// SQLiteDSN returns the DSN of a new SQLite file in a temporary directory.
func SQLiteDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "smsflow.db")
}

// emptier returns a func that deletes every row of the database at dsn but
// its migrations, through a connection of its own.
func emptier(t testing.TB, dsn string) func(testing.TB) {
	t.Helper()
	driver, source, list := "pgx", dsn, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' ORDER BY 1`
	if store.Scheme(dsn) == "sqlite" {
		driver, source = "sqlite", "file:"+strings.TrimPrefix(dsn, "sqlite:")+"?_pragma=busy_timeout(10000)"
		list = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY 1`
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	var tables []string
	rows, err := raw.Query(list)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("tables of the migrated database: %v", tables)
	}
	return func(t testing.TB) {
		t.Helper()
		// DELETE, not TRUNCATE: on tables this small PostgreSQL's
		// TRUNCATE (new files for every table and index) costs more.
		var err error
		for _, table := range tables {
			if _, err = raw.Exec(`DELETE FROM ` + table); err != nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("empty the database: %v", err)
		}
	}
}

// Covered lists the methods Exercise has a case for, sorted.
func Covered() []string {
	var out []string
	for _, c := range cases() {
		out = append(out, c.method)
	}
	sort.Strings(out)
	return out
}

// --- what the cases share --------------------------------------------------

var bg = context.Background()

// t0 is the cases' "now": microsecond precision, as stored.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 123456000, time.UTC)

// must returns v, failing the test on err: must(db.CountRuns(ctx, ""))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// write runs fn in a write transaction and fails the test if it fails.
func write(t testing.TB, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.WriteTx(bg, fn); err != nil {
		t.Fatal(err)
	}
}

// count runs a one-number query on the raw tables.
func count(t testing.TB, db *store.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowForTest(bg, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// equal fails the test when got and want differ (reflect.DeepEqual: times
// read back are UTC without a monotonic reading, so they compare as t0's
// do).
func equal[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

// show prints v with the values its pointers point to.
func show(v any) string {
	rv := reflect.ValueOf(v)
	switch {
	case !rv.IsValid():
		return "nil"
	case rv.Kind() == reflect.Slice && !rv.IsNil():
		out := "["
		for i := range rv.Len() {
			if i > 0 {
				out += ", "
			}
			out += show(rv.Index(i).Interface())
		}
		return out + "]"
	case rv.Kind() == reflect.Pointer && !rv.IsNil():
		return "&" + show(rv.Elem().Interface())
	}
	return fmt.Sprintf("%+v", v)
}

// addContact stores a contact with the phone ("" for none).
func addContact(t testing.TB, db *store.DB, id, phone string) *smsflow.Contact {
	t.Helper()
	c := &smsflow.Contact{ID: id, Phone: phone, Timezone: "UTC", Timezones: []string{}, Traits: map[string]any{}, CreatedAt: t0, UpdatedAt: t0}
	write(t, db, func(tx *store.Tx) error { return tx.InsertContact(c) })
	return c
}

// addRun stores r, filling what it leaves zero: flow "welcome" version 1,
// status waiting, entered and updated at t0.
func addRun(t testing.TB, db *store.DB, r smsflow.Run) *smsflow.Run {
	t.Helper()
	if r.FlowID == "" {
		r.FlowID = "welcome"
	}
	if r.FlowVersion == 0 {
		r.FlowVersion = 1
	}
	if r.Status == "" {
		r.Status = smsflow.RunWaiting
	}
	if r.EnteredAt.IsZero() {
		r.EnteredAt = t0
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.EnteredAt
	}
	write(t, db, func(tx *store.Tx) error { return tx.InsertRun(&r) })
	return &r
}

// newMessage fills what m leaves zero: outbound, queued, flow "welcome",
// phone +14155550100, one GSM-7 segment, created and updated at t0.
func newMessage(m smsflow.Message) *smsflow.Message {
	if m.Direction == "" {
		m.Direction = "out"
	}
	if m.Status == "" {
		m.Status = "queued"
	}
	if m.FlowID == "" && m.Direction == "out" && m.RunID != 0 {
		m.FlowID = "welcome"
	}
	if m.Phone == "" {
		m.Phone = "+14155550100"
	}
	if m.Body == "" {
		m.Body = "Hi"
	}
	if m.Encoding == "" {
		m.Encoding, m.Characters, m.Segments = "GSM-7", len(m.Body), 1
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = t0
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	return &m
}

// addMessage stores a message (newMessage's defaults) and returns it with
// its id.
func addMessage(t testing.TB, db *store.DB, m smsflow.Message) *smsflow.Message {
	t.Helper()
	p := newMessage(m)
	write(t, db, func(tx *store.Tx) error {
		ok, err := tx.InsertMessage(p)
		if err == nil && !ok {
			err = fmt.Errorf("message of run %d step %q not inserted", p.RunID, p.StepID)
		}
		return err
	})
	if p.ID == 0 {
		t.Fatal("inserted message has no id")
	}
	return p
}

// messageByID reads a stored message back.
func messageByID(t testing.TB, db *store.DB, id int64) *smsflow.Message {
	t.Helper()
	for _, m := range must(db.Messages(bg, store.MessageFilter{Limit: 1000}))(t) {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no message %d", id)
	return nil
}

// newEvent is a trusted track event of contact ana named name, at t0.
func newEvent(messageID, name string) *smsflow.Event {
	return &smsflow.Event{MessageID: messageID, Type: "track", Name: name, ContactID: "ana",
		Properties: map[string]any{"n": 1.0}, Timestamp: t0, ReceivedAt: t0}
}

// addEvent stores e and returns its sequence number.
func addEvent(t testing.TB, db *store.DB, e *smsflow.Event) int64 {
	t.Helper()
	write(t, db, func(tx *store.Tx) error {
		ok, err := tx.InsertEvent(e)
		if err == nil && !ok {
			err = fmt.Errorf("event %s is a duplicate", e.MessageID)
		}
		return err
	})
	return e.Seq
}

// addConsent appends a ledger entry recorded (and claimed) at at.
func addConsent(t testing.TB, db *store.DB, phone string, status smsflow.ConsentStatus, at time.Time) *smsflow.ConsentEntry {
	t.Helper()
	e := &smsflow.ConsentEntry{Phone: phone, ContactID: "ana", Status: status, Source: smsflow.SourceWebForm,
		Evidence: map[string]any{"form": "signup"}, OccurredAt: at, RecordedAt: at}
	write(t, db, func(tx *store.Tx) error { return tx.AppendConsent(e) })
	return e
}

// concurrent reports whether two write transactions can run at once (the
// claims that skip locked rows): PostgreSQL. SQLite's one writer makes a
// second transaction wait for the first.
func concurrent(db *store.DB) bool { return db.Dialect().SkipLocked() != "" }

// alongside runs fn in a second write transaction while the caller's is
// open, and returns what it returned; only where concurrent.
func alongside(db *store.DB, fn func(tx *store.Tx) error) error {
	done := make(chan error, 1)
	go func() { done <- db.WriteTx(bg, fn) }()
	return <-done
}
