package store

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// Set-based batch reads and writes (D33, D84). The engine and the ingest
// writer work on a batch of contacts in one transaction, and one statement
// per contact for every read and write would cost a round trip each on
// PostgreSQL and a fixed cost on both databases. So a batch reads what it
// needs up front, one query per kind of row for all its contacts (or runs,
// or events), and writes what it decided at the end, each kind in
// multi-row statements. The batch itself lives with its caller (the
// engine's engine/batch.go, the ingest writer's ingest/events.go): store.Tx
// holds no cache and no buffered write; it reads and writes when asked.

type cachedContact struct {
	c       *smsflow.Contact
	consent smsflow.ConsentStatus
}

type entryInfo struct {
	last time.Time
	open bool
}

// --- batch reads ---------------------------------------------------------------
//
// Each reads many contacts (or runs) in one query per maxParams ids, with an
// entry for every id asked for. The single reads (ContactForUpdate,
// ContactByID, RunByID, OpenRuns, LastEntry, RecentSends, HadMarketing) are
// these with one id, so a prefetched answer and a direct one come from the
// same query.

// contactsForUpdate locks the contacts (PostgreSQL) and reads them with
// their number's current consent status; a missing contact is nil.
func (t *Tx) contactsForUpdate(ids []string) (map[string]cachedContact, error) {
	out := make(map[string]cachedContact, len(ids))
	for _, id := range ids {
		out[id] = cachedContact{consent: smsflow.ConsentNone}
	}
	return out, t.eachRow(`SELECT `+contactColumns+`,
 (SELECT status FROM consent_ledger WHERE phone = contacts.phone ORDER BY id DESC LIMIT 1)
 FROM contacts WHERE id IN (%s) ORDER BY id`+t.db.dialect.LockRow(), anyArgs(ids), nil, func(rows *sql.Rows) error {
		var consent sql.NullString
		c, err := scanContact(withExtra{rows, []any{&consent}})
		if err != nil {
			return err
		}
		cc := cachedContact{c: c, consent: smsflow.ConsentNone}
		if consent.Valid && c.Phone != "" {
			cc.consent = smsflow.ConsentStatus(consent.String)
		}
		out[c.ID] = cc
		return nil
	})
}

// contactsByID reads contacts without a lock; a missing one is nil.
func (t *Tx) contactsByID(ids []string) (map[string]*smsflow.Contact, error) {
	out := make(map[string]*smsflow.Contact, len(ids))
	for _, id := range ids {
		out[id] = nil
	}
	return out, t.eachRow(`SELECT `+contactColumns+` FROM contacts WHERE id IN (%s)`, anyArgs(ids), nil, func(rows *sql.Rows) error {
		c, err := scanContact(rows)
		if err == nil {
			out[c.ID] = c
		}
		return err
	})
}

// EventKeys are the keys an event is unique by: its stored message id and,
// when it has one, its stored dedupe key (an order's id).
func EventKeys(e *smsflow.Event) []string {
	if e.DedupeKey == "" {
		return []string{"m:" + storedMessageID(e)}
	}
	return []string{"m:" + storedMessageID(e), "d:" + storedDedupeKey(e)}
}

// StoredEventKeys reads which of the events' keys (EventKeys) are stored,
// in one query per kind of key: an entry for every key, true when a stored
// event has it.
func (t *Tx) StoredEventKeys(events []*smsflow.Event) (map[string]bool, error) {
	out, msgIDs, dedupe := askedEventKeys(events)
	mark := func(rows *sql.Rows) error {
		var m, d string
		if err := rows.Scan(&m, &d); err != nil {
			return err
		}
		markStoredKeys(out, m, d)
		return nil
	}
	if t.db.dialect.RoundTrips() {
		return out, t.storedEventKeyArrays(msgIDs, dedupe, mark)
	}
	if err := t.eachRow(`SELECT message_id, COALESCE(dedupe_key, '') FROM events WHERE message_id IN (%s)`, anyArgs(msgIDs), nil, mark); err != nil {
		return nil, err
	}
	return out, t.eachRow(`SELECT message_id, COALESCE(dedupe_key, '') FROM events WHERE dedupe_key IN (%s)`, anyArgs(dedupe), nil, mark)
}

// askedEventKeys lists the events' keys (EventKeys) as asked, none stored
// yet, and the distinct message ids and dedupe keys to look for.
func askedEventKeys(events []*smsflow.Event) (keys map[string]bool, msgIDs, dedupe []string) {
	keys, msgIDs, dedupe = map[string]bool{}, []string{}, []string{}
	ask := func(key, value string, list *[]string) {
		if _, dup := keys[key]; !dup {
			keys[key] = false
			*list = append(*list, value)
		}
	}
	for _, e := range events {
		m := storedMessageID(e)
		ask("m:"+m, m, &msgIDs)
		if d := storedDedupeKey(e); d != "" {
			ask("d:"+d, d, &dedupe)
		}
	}
	return keys, msgIDs, dedupe
}

// markStoredKeys marks the asked keys of a stored event (its message id and
// dedupe key, "" for none) as stored.
func markStoredKeys(keys map[string]bool, messageID, dedupeKey string) {
	for _, k := range []string{"m:" + messageID, "d:" + dedupeKey} {
		if _, asked := keys[k]; asked {
			keys[k] = true
		}
	}
}

// ContactsAndEventKeys is ContactsByID and StoredEventKeys at once: what
// the ingest writer reads before a group. On PostgreSQL it is one query,
// one round trip where the two cost one each (both reads take array
// parameters, D89); SQLite runs the two.
func (t *Tx) ContactsAndEventKeys(ids []string, events []*smsflow.Event) (map[string]*smsflow.Contact, map[string]bool, error) {
	if !t.db.dialect.RoundTrips() || len(ids) == 0 || len(events) == 0 {
		var contacts map[string]*smsflow.Contact
		var keys map[string]bool
		var err error
		if len(ids) > 0 {
			if contacts, err = t.contactsByID(ids); err != nil {
				return nil, nil, err
			}
		}
		if len(events) > 0 {
			if keys, err = t.StoredEventKeys(events); err != nil {
				return nil, nil, err
			}
		}
		return contacts, keys, nil
	}
	contacts := make(map[string]*smsflow.Contact, len(ids))
	for _, id := range ids {
		contacts[id] = nil
	}
	keys, msgIDs, dedupe := askedEventKeys(events)
	// The stored keys ride in the contact rows' shape, flagged: message_id
	// in the id column, the dedupe key in phone_type, fillers elsewhere.
	rows, err := t.query(`SELECT false, `+contactColumns+` FROM contacts WHERE id = ANY(CAST(? AS TEXT[]))
UNION ALL
SELECT true, message_id, NULL, COALESCE(dedupe_key, ''), '', '', '[]', '{}', 0, 0, '', '[]' FROM events
WHERE message_id = ANY(CAST(? AS TEXT[])) OR dedupe_key = ANY(CAST(? AS TEXT[]))`, ids, msgIDs, dedupe)
	if err != nil {
		return nil, nil, fmt.Errorf("contacts and stored event keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key bool
		c, err := scanContact(flagged{rows, &key})
		if err != nil {
			return nil, nil, err
		}
		if key {
			markStoredKeys(keys, c.ID, c.PhoneType)
			continue
		}
		contacts[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("contacts and stored event keys: %w", err)
	}
	return contacts, keys, nil
}

// flagged scans a row whose first column is a flag, then the columns its
// caller scans.
type flagged struct {
	rows *sql.Rows
	flag *bool
}

func (f flagged) Scan(dest ...any) error { return f.rows.Scan(append([]any{f.flag}, dest...)...) }

// runsByID locks and reads runs; a missing one is absent.
func (t *Tx) runsByID(ids []int64) (map[int64]*smsflow.Run, error) {
	out := make(map[int64]*smsflow.Run, len(ids))
	return out, t.eachRow(`SELECT `+runColumns+` FROM runs WHERE id IN (%s) ORDER BY id`+t.db.dialect.LockRow(), anyArgs(ids), nil, func(rows *sql.Rows) error {
		r, err := scanRun(rows)
		if err == nil {
			out[r.ID] = r
		}
		return err
	})
}

// openRunsOf reads the contacts' runs that have not ended, oldest entry
// first.
func (t *Tx) openRunsOf(ids []string) (map[string][]*smsflow.Run, error) {
	out := make(map[string][]*smsflow.Run, len(ids))
	for _, id := range ids {
		out[id] = nil
	}
	return out, t.eachRow(`SELECT `+runColumns+` FROM runs WHERE contact_id IN (%s) AND status IN ('active', 'waiting') ORDER BY entered_at, id`, anyArgs(ids), nil, func(rows *sql.Rows) error {
		r, err := scanRun(rows)
		if err == nil {
			out[r.ContactID] = append(out[r.ContactID], r)
		}
		return err
	})
}

// entriesOf reads, per contact and flow, the last entry (any version,
// holdout included) and whether a run of it is still open.
func (t *Tx) entriesOf(ids []string) (map[string]map[string]entryInfo, error) {
	out := make(map[string]map[string]entryInfo, len(ids))
	for _, id := range ids {
		out[id] = map[string]entryInfo{}
	}
	return out, t.eachRow(`SELECT contact_id, flow_id, MAX(entered_at), SUM(CASE WHEN status IN ('active', 'waiting') THEN 1 ELSE 0 END)
FROM runs WHERE contact_id IN (%s) GROUP BY contact_id, flow_id`, anyArgs(ids), nil, func(rows *sql.Rows) error {
		var contact, flow string
		var last, open int64
		if err := rows.Scan(&contact, &flow, &last, &open); err != nil {
			return err
		}
		out[contact][flow] = entryInfo{last: fromMicros(last), open: open > 0}
		return nil
	})
}

// marketingOf reads, per contact, the numbers that had a counted marketing
// message since they last subscribed (HadMarketing): since the latest
// subscribed entry was recorded (message times are smsflow's clock too; a
// claimed time may be long past). The "|| ”" keeps
// SQLite's planner on the (contact_id, created_at) index with a long IN
// list (see recentSendsOf).
func (t *Tx) marketingOf(ids []string) (map[string]map[string]bool, error) {
	out := make(map[string]map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = map[string]bool{}
	}
	return out, t.eachRow(`SELECT DISTINCT contact_id, phone FROM messages m WHERE contact_id IN (%s)
AND m.direction || '' = 'out' AND m.category || '' IN ('lifecycle', 'behavior', 'promo') AND m.status || '' IN `+countedStatuses+`
AND m.created_at >= COALESCE((SELECT MAX(recorded_at) FROM consent_ledger WHERE phone = m.phone AND status = 'subscribed'), 0)`, anyArgs(ids), nil, func(rows *sql.Rows) error {
		var contact, phone string
		if err := rows.Scan(&contact, &phone); err != nil {
			return err
		}
		out[contact][phone] = true
		return nil
	})
}

// recentSendsOf reads the contacts' counted outbound messages created after
// since, oldest first. Direction and status are filtered here, not in SQL:
// with a long IN list SQLite's planner would otherwise pick the (direction,
// provider, status) index and scan every outbound message.
func (t *Tx) recentSendsOf(ids []string, since time.Time) (map[string][]SentRecord, error) {
	out := make(map[string][]SentRecord, len(ids))
	for _, id := range ids {
		out[id] = nil
	}
	return out, t.eachRow(`SELECT contact_id, created_at, category, flow_id, direction, status FROM messages
WHERE contact_id IN (%s) AND created_at > ? ORDER BY contact_id, created_at`, anyArgs(ids), []any{micros(since)}, func(rows *sql.Rows) error {
		var contact, direction, status string
		var r SentRecord
		var at int64
		if err := rows.Scan(&contact, &at, &r.Category, &r.FlowID, &direction, &status); err != nil {
			return err
		}
		if direction == "out" && strings.Contains(countedStatuses, "'"+status+"'") {
			r.At = fromMicros(at)
			out[contact] = append(out[contact], r)
		}
		return nil
	})
}

// maxParams bounds the parameters of one statement (SQLite's default limit
// is 32,766; PostgreSQL's 65,535).
const maxParams = 8000

func anyArgs[T any](ids []T) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// eachRow runs query — whose %s is the placeholders of an IN list — over
// ids in chunks of at most maxParams, with extra arguments after the ids,
// and calls fn for every row.
func (t *Tx) eachRow(query string, ids, extra []any, fn func(*sql.Rows) error) error {
	for from := 0; from < len(ids); from += maxParams {
		chunk := ids[from:min(from+maxParams, len(ids))]
		in, chunk := inList(chunk)
		rows, err := t.query(fmt.Sprintf(query, in), append(slices.Clip(chunk), extra...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := fn(rows); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// --- batch writes ---------------------------------------------------------------

func runUpdateArgs(r *smsflow.Run) []any {
	return []any{r.ID, r.Status, r.ExitReason, r.Step, wakeArg(r.WakeAt), r.Variant, mustJSON(r.State), micros(r.UpdatedAt), micros(r.EndedAt), micros(r.GoalAt), r.GoalValue}
}

// updateRunRows writes run updates (runUpdateArgs rows).
func (t *Tx) updateRunRows(rows [][]any) error {
	if !t.db.dialect.RoundTrips() {
		// In process (SQLite): no round trip to save, and its UPDATE … FROM
		// (VALUES …) costs several times the plain updates.
		for _, r := range rows {
			if _, err := t.exec(`UPDATE runs SET status = ?, exit_reason = ?, step = ?, wake_at = ?, variant = ?, state = ?, updated_at = ?, ended_at = ?, goal_at = ?, goal_value = ? WHERE id = ?`,
				append(r[1:len(r):len(r)], r[0])...); err != nil {
				return err
			}
		}
		return nil
	}
	// A VALUES list's columns are named column1… on both databases; the
	// casts give PostgreSQL the types its parameters lack.
	row := `(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION))`
	return t.execRows(`UPDATE runs SET status = v.column2, exit_reason = v.column3, step = v.column4, wake_at = v.column5, variant = v.column6,
 state = v.column7, updated_at = v.column8, ended_at = v.column9, goal_at = v.column10, goal_value = v.column11 FROM (VALUES `, row, `) AS v WHERE runs.id = v.column1`, rows)
}

// execRows runs prefix + row, row, … + suffix for the rows, in as few
// statements as the parameter limit allows. Chunks have fixed sizes (powers
// of two) so their prepared statements are reused.
func (t *Tx) execRows(prefix, row, suffix string, rows [][]any) error {
	per := max(1, maxParams/max(1, len(rows[0])))
	if !t.db.dialect.RoundTrips() {
		per = 1 // in process: one short prepared statement, run per row
	}
	for len(rows) > 0 {
		n := min(per, len(rows))
		if n < per {
			n = 1 << (bitsLen(n) - 1) // the largest power of two ≤ n
		}
		var q strings.Builder
		q.WriteString(prefix)
		args := make([]any, 0, n*len(rows[0]))
		for i := range n {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
			args = append(args, rows[i]...)
		}
		q.WriteString(suffix)
		if _, err := t.exec(q.String(), args...); err != nil {
			return fmt.Errorf("%s…: %w", firstLine(prefix), err)
		}
		rows = rows[n:]
	}
	return nil
}

func bitsLen(n int) int {
	l := 0
	for n > 0 {
		l++
		n >>= 1
	}
	return l
}

// --- explicit batch reads and writes (D84) -----------------------------------

// Load names what LoadContacts reads with the contacts.
type Load struct {
	// OpenRuns reads each contact's runs that have not ended, and Entries
	// its last entry per flow.
	OpenRuns, Entries bool
	// RecentSince, when set, reads the counted sends since then (caps).
	RecentSince time.Time
	// Marketing reads which numbers had a marketing message since they
	// last subscribed (the compliance footer).
	Marketing bool
}

// ContactState is a contact as a batch loaded it: what the engine decides
// from, read in one query per kind for the whole batch.
type ContactState struct {
	Contact *smsflow.Contact // nil: no such contact
	Consent smsflow.ConsentStatus
	// OpenRuns are the runs that have not ended, oldest entry first (with
	// Load.OpenRuns).
	OpenRuns []*smsflow.Run
	// Entries are, per flow, the last entry and whether a run of it is open
	// (with Load.Entries).
	Entries map[string]Entry
	// Recent are the counted sends since Load.RecentSince, oldest first.
	Recent []SentRecord
	// Marketing holds the numbers that had a marketing message since they
	// last subscribed (with Load.Marketing).
	Marketing map[string]bool
}

// Entry is a contact's last entry into a flow (any version, holdout
// included) and whether a run of it is still open.
type Entry struct {
	Last time.Time
	Open bool
}

// LoadContacts locks the contacts (PostgreSQL, in id order) and reads them
// with their consent and what l names, in one query per kind. Every id asked
// for has a state; a missing contact's Contact is nil.
func (t *Tx) LoadContacts(ids []string, l Load) (map[string]*ContactState, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids))) // one lock order for every node
	out := make(map[string]*ContactState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	contacts, err := t.contactsForUpdate(ids)
	if err != nil {
		return nil, err
	}
	for id, c := range contacts {
		out[id] = &ContactState{Contact: c.c, Consent: c.consent}
	}
	if l.OpenRuns {
		open, err := t.OpenRunsOf(ids)
		if err != nil {
			return nil, err
		}
		for id, runs := range open {
			out[id].OpenRuns = runs
		}
	}
	if l.Entries {
		entries, err := t.EntriesOf(ids)
		if err != nil {
			return nil, err
		}
		for id, e := range entries {
			out[id].Entries = e
		}
	}
	if l.Marketing {
		m, err := t.MarketingOf(ids)
		if err != nil {
			return nil, err
		}
		for id, phones := range m {
			out[id].Marketing = phones
		}
	}
	if !l.RecentSince.IsZero() {
		recent, err := t.recentSendsOf(ids, l.RecentSince)
		if err != nil {
			return nil, err
		}
		for id, rows := range recent {
			out[id].Recent = rows
		}
	}
	return out, nil
}

// OpenRunsOf reads the contacts' runs that have not ended, oldest entry
// first, with an entry for every id.
func (t *Tx) OpenRunsOf(ids []string) (map[string][]*smsflow.Run, error) { return t.openRunsOf(ids) }

// EntriesOf reads, per contact and flow, the last entry and whether a run
// of it is open, with an entry for every id.
func (t *Tx) EntriesOf(ids []string) (map[string]map[string]Entry, error) {
	in, err := t.entriesOf(ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]Entry, len(in))
	for id, flows := range in {
		m := make(map[string]Entry, len(flows))
		for f, e := range flows {
			m[f] = Entry{Last: e.last, Open: e.open}
		}
		out[id] = m
	}
	return out, nil
}

// MarketingOf reads, per contact, the numbers that had a counted marketing
// message since they last subscribed.
func (t *Tx) MarketingOf(ids []string) (map[string]map[string]bool, error) { return t.marketingOf(ids) }

// RecentSendsOf reads the contacts' counted outbound messages created after
// since, oldest first, with an entry for every id.
func (t *Tx) RecentSendsOf(ids []string, since time.Time) (map[string][]SentRecord, error) {
	return t.recentSendsOf(ids, since)
}

// RunsByID locks and reads runs by id; a missing one is absent.
func (t *Tx) RunsByID(ids []int64) (map[int64]*smsflow.Run, error) { return t.runsByID(ids) }

// MessageSteps reads which steps of the runs have a message, with an entry
// for every run: what "never twice" is decided from for runs a batch may
// advance. Call it under the runs' contacts' locks: only the engine writes
// a run's messages, under those locks.
func (t *Tx) MessageSteps(runIDs []int64) (map[int64]map[string]bool, error) {
	out := make(map[int64]map[string]bool, len(runIDs))
	for _, id := range runIDs {
		out[id] = map[string]bool{}
	}
	return out, t.eachRow(`SELECT run_id, step_id FROM messages WHERE run_id IN (%s)`, anyArgs(runIDs), nil, func(rows *sql.Rows) error {
		var run int64
		var step sql.NullString
		if err := rows.Scan(&run, &step); err != nil {
			return err
		}
		out[run][step.String] = true
		return nil
	})
}

// ReserveRunID returns an id for a run the transaction will write with
// InsertRuns, so what refers to the run (decisions, messages, links) can
// name it first. PostgreSQL takes ids from the table's sequence in blocks;
// SQLite, whose one writer holds the database for the transaction, counts
// up from the largest id, as its own rowid allocation does.
func (t *Tx) ReserveRunID() (int64, error) { return t.reserve(&t.runIDs, "runs", "id") }

// reserve takes the next id of table's column for a row written later in
// the transaction.
func (t *Tx) reserve(b *idBlock, table, column string) (int64, error) {
	if t.db.dialect.RoundTrips() {
		return t.nextID(b, table, column)
	}
	if b.taken == 0 {
		var top sql.NullInt64
		if err := t.queryRow(`SELECT MAX(` + column + `) FROM ` + table).Scan(&top); err != nil {
			return 0, fmt.Errorf("reserve %s %s: %w", table, column, err)
		}
		b.next = top.Int64
	}
	b.taken++
	b.next++
	return b.next, nil
}

// InsertRuns writes new runs whose ids were reserved (ReserveRunID), in
// multi-row statements.
func (t *Tx) InsertRuns(runs []*smsflow.Run) error {
	if len(runs) == 0 {
		return nil
	}
	rows := make([][]any, len(runs))
	for i, r := range runs {
		rows[i] = runInsertArgs(r)
	}
	return t.execRows(`INSERT INTO runs (id, flow_id, flow_version, contact_id, status, exit_reason, step, wake_at, holdout, variant, state, entered_at, updated_at, ended_at, goal_at, goal_value)
`+t.overriding()+`VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``, rows)
}

// overriding lets an insert give an identity column its reserved value
// (PostgreSQL's GENERATED ALWAYS columns).
func (t *Tx) overriding() string {
	if t.db.dialect.RoundTrips() {
		return "OVERRIDING SYSTEM VALUE "
	}
	return ""
}

// UpdateRuns writes runs' mutable fields: one UPDATE … FROM (VALUES …) per
// chunk on PostgreSQL, a prepared UPDATE per run on SQLite, where there is
// no round trip to save and the plain update is the faster one.
func (t *Tx) UpdateRuns(runs []*smsflow.Run) error {
	if len(runs) == 0 {
		return nil
	}
	rows := make([][]any, len(runs))
	for i, r := range runs {
		rows[i] = runUpdateArgs(r)
	}
	return t.updateRunRows(rows)
}

// InsertDecisions writes decisions in multi-row statements; their ids stay 0.
func (t *Tx) InsertDecisions(ds []*smsflow.Decision) error {
	if len(ds) == 0 {
		return nil
	}
	rows := make([][]any, len(ds))
	for i, d := range ds {
		rows[i] = decisionArgs(d)
	}
	return t.execRows(`INSERT INTO decisions (run_id, step_id, flow_id, contact_id, reason, detail, at) VALUES `, `(?, ?, ?, ?, ?, ?, ?)`, ``, rows)
}

// InsertMessages writes messages in multi-row statements; their ids stay 0.
// A message for a (run, step) that has one is not written (the database's
// guarantee behind "never twice"; the engine knows it before, from
// MessageSteps).
func (t *Tx) InsertMessages(ms []*smsflow.Message) error {
	if len(ms) == 0 {
		return nil
	}
	rows := make([][]any, len(ms))
	for i, m := range ms {
		rows[i] = messageArgs(m)
	}
	return t.execRows(`INSERT INTO messages (`+messageInsertColumns+`) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ` ON CONFLICT DO NOTHING`, rows)
}
