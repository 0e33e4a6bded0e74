package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
)

// ImportRow is one contact of an import file.
type ImportRow struct {
	Line     int            `json:"-"` // 1-based line in the file (CSV: header is line 1)
	ID       string         `json:"id"`
	Phone    string         `json:"phone"`
	Timezone string         `json:"timezone"`
	Traits   map[string]any `json:"traits"`
	Consent  *ConsentChange `json:"consent"`
}

// Rejection says why one row was not imported (or, for consent, not applied).
type Rejection struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportSummary is what an import did.
type ImportSummary struct {
	Rows           int         `json:"rows"`
	Imported       int         `json:"imported"` // new contacts
	Updated        int         `json:"updated"`  // existing contacts updated
	Unchanged      int         `json:"unchanged"`
	Rejected       []Rejection `json:"rejected"`
	ConsentRefused []Rejection `json:"consent_refused"` // row imported, consent change refused
}

// ImportBatch is how many rows are read ahead and the most one import
// transaction carries.
const ImportBatch = 500

// How an import shares a database with a running server. On SQLite one
// writer excludes every other, across processes, and a waiting writer
// polls for the lock (SQLite's busy handler: after 1, 2, 5, 10, 15, 20, 25,
// 25, 25, 50, 50 ms, then every 100 ms: polls at 0, 1, 3, 8, 18, 33, 53,
// 78, 103, 128, 178, 228, 328 … ms) until its busy_timeout (10 s). An
// import that began its next transaction right after each commit left the
// server's writer almost no chance to poll at a free moment: ingestion
// stalled for the whole import and requests failed with SQLITE_BUSY.
//
// So each import transaction ends once it has run ImportTxBudget, and the
// import then pauses before the next: ImportYield after a transaction that
// held the lock up to ImportShortTx, ImportYieldLong after a longer one. A
// server that began waiting during the transaction has waited at most as
// long as it; the server's polls are at most 25 ms apart until 128 ms of
// waiting, and at most 100 ms apart after, so one of them falls in the
// pause and the server gets the lock. It never waits much longer than one
// import transaction. If the server keeps the lock past the import's own
// busy timeout, the import waits and writes the same rows again
// (ImportBusyBackoff, doubling to 5 s), for up to ImportBusyLimit.
const (
	ImportTxBudget    = 100 * time.Millisecond
	ImportShortTx     = 125 * time.Millisecond
	ImportYield       = 30 * time.Millisecond
	ImportYieldLong   = 100 * time.Millisecond
	ImportBusyBackoff = 100 * time.Millisecond
	ImportBusyLimit   = 5 * time.Minute
)

// Importer reads contacts from CSV or NDJSON and writes them in batches.
type Importer struct {
	DB     Store
	Clock  smsflow.Clock
	Region string
	// Progress, if set, is called after each batch with the rows done so far
	// and the bytes read so far.
	Progress func(rows int, bytesRead int64)
	// Log, if set, hears about waits for the database's lock.
	Log *slog.Logger
}

// countingReader counts bytes read, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Import reads the whole file. format is "csv" or "ndjson".
func (im *Importer) Import(ctx context.Context, r io.Reader, format string) (ImportSummary, error) {
	sum := ImportSummary{Rejected: []Rejection{}, ConsentRefused: []Rejection{}}
	cr := &countingReader{r: r}
	var next func() (*ImportRow, error)
	switch format {
	case "csv":
		n, err := csvRows(cr)
		if err != nil {
			return sum, err
		}
		next = n
	case "ndjson", "jsonl":
		next = ndjsonRows(cr)
	default:
		return sum, fmt.Errorf("unknown import format %q: use csv or ndjson", format)
	}
	batch := make([]*ImportRow, 0, ImportBatch)
	flush := func() error {
		for rest := batch; len(rest) > 0; {
			n, held, err := im.writeRetrying(ctx, rest, &sum)
			if err != nil {
				return err
			}
			rest = rest[n:]
			if err := im.yield(ctx, held); err != nil {
				return err
			}
		}
		batch = batch[:0]
		if im.Progress != nil {
			im.Progress(sum.Rows, cr.n)
		}
		return nil
	}
	for {
		row, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *rowError
		if errors.As(err, &rowErr) {
			sum.Rows++
			sum.Rejected = append(sum.Rejected, Rejection{Line: rowErr.line, Reason: rowErr.msg})
			continue
		}
		if err != nil {
			return sum, err
		}
		sum.Rows++
		batch = append(batch, row)
		if len(batch) == ImportBatch {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

type rowError struct {
	line int
	msg  string
}

func (e *rowError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// yield pauses after a transaction that held the write lock for held, on a
// database with one writer, so that a server waiting for the lock gets it
// (see ImportYield).
func (im *Importer) yield(ctx context.Context, held time.Duration) error {
	if !im.DB.SingleWriter() {
		return nil
	}
	pause := ImportYield
	if held > ImportShortTx {
		pause = ImportYieldLong
	}
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// writeRetrying is write, run again with back-off while the database's lock
// is held by another process past the busy timeout (or, on PostgreSQL, the
// transaction collided with another's): those rows were not written, and
// writing them again is safe.
func (im *Importer) writeRetrying(ctx context.Context, rows []*ImportRow, sum *ImportSummary) (int, time.Duration, error) {
	wait, waited := ImportBusyBackoff, time.Duration(0)
	for {
		n, held, err := im.write(ctx, rows, sum)
		if err == nil || !(im.DB.IsBusy(err) || im.DB.IsConflict(err)) || ctx.Err() != nil {
			return n, held, err
		}
		if waited >= ImportBusyLimit {
			return 0, 0, fmt.Errorf("the database stayed locked by another process for %s: %w", ImportBusyLimit, err)
		}
		if im.Log != nil {
			im.Log.Info("database locked by another process; waiting", "wait", wait, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, 0, ctx.Err()
		case <-t.C:
		}
		waited += wait
		wait = min(2*wait, 5*time.Second)
	}
}

// write imports the first rows of rows in one transaction, as many as fit
// in ImportTxBudget (at least one), and returns how many it took and about
// how long it held the write lock (from its first statement to its commit).
func (im *Importer) write(ctx context.Context, rows []*ImportRow, sum *ImportSummary) (int, time.Duration, error) {
	now := im.Clock.Now()
	var imported, updated, unchanged, taken int
	var rejected, refused []Rejection
	var start time.Time
	err := writeTx(ctx, im.DB, func(tx WriteTx) error {
		imported, updated, unchanged, taken, rejected, refused = 0, 0, 0, 0, nil, nil
		start = time.Now()
		for _, row := range rows {
			if taken > 0 && time.Since(start) >= ImportTxBudget {
				break
			}
			taken++
			if err := row.validate(); err != nil {
				rejected = append(rejected, Rejection{row.Line, smsflow.ErrorMessage(err)})
				continue
			}
			n, err := phone.Parse(row.Phone, im.Region)
			if err != nil {
				rejected = append(rejected, Rejection{row.Line, "phone: " + smsflow.ErrorMessage(err)})
				continue
			}
			id := row.ID
			if id == "" {
				if existing, err := tx.ContactByPhone(n.E164); err != nil {
					return err
				} else if existing != nil {
					id = existing.ID
				} else {
					id = smsflow.ContactIDForPhone(n.E164)
				}
			}
			if row.Timezone != "" && !phone.ValidTimezone(row.Timezone) {
				rejected = append(rejected, Rejection{row.Line, fmt.Sprintf("timezone %q is not an IANA zone name (like America/New_York)", row.Timezone)})
				continue
			}
			if row.Consent != nil {
				if row.Consent.Source == "" {
					row.Consent.Source = smsflow.SourceImport
				}
				if err := row.Consent.Validate(); err != nil {
					rejected = append(rejected, Rejection{row.Line, "consent " + smsflow.ErrorField(err) + ": " + smsflow.ErrorMessage(err)})
					continue
				}
			}
			before, err := tx.ContactByID(id)
			if err != nil {
				return err
			}
			it := &Item{
				Type: smsflow.EventIdentify, MessageID: importMessageID(row), UserID: id,
				Traits: row.Traits, Timestamp: now, ReceivedAt: now, Phone: &n, History: true,
			}
			if row.Timezone != "" {
				it.Timezone, it.TimezoneSource = row.Timezone, "trait"
			}
			res, err := apply(tx, nil, it, now)
			if err != nil && smsflow.ErrorCode(err) == smsflow.EINTERNAL {
				return err
			}
			if err != nil {
				rejected = append(rejected, Rejection{row.Line, smsflow.ErrorMessage(err)})
				continue
			}
			switch {
			case res.Duplicate:
				unchanged++
			case before == nil:
				imported++
			default:
				updated++
			}
			if row.Consent != nil && !res.Duplicate {
				if reason, err := importConsent(tx, n.E164, res.ContactID, row.Consent, now); err != nil {
					return err
				} else if reason != "" {
					refused = append(refused, Rejection{row.Line, reason})
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	sum.Imported += imported
	sum.Updated += updated
	sum.Unchanged += unchanged
	sum.Rejected = append(sum.Rejected, rejected...)
	sum.ConsentRefused = append(sum.ConsentRefused, refused...)
	return taken, time.Since(start), nil
}

// importConsent appends an imported consent status unless the number's
// ledger already says the same thing. An import never resubscribes a number
// that is unsubscribed, whatever the source of its opt-out.
func importConsent(tx WriteTx, e164, contactID string, ch *ConsentChange, now time.Time) (refused string, err error) {
	latest, err := tx.LatestConsent(e164)
	if err != nil {
		return "", err
	}
	if latest != nil && latest.Status == ch.Status {
		return "", nil
	}
	if latest != nil && latest.Status == smsflow.ConsentUnsubscribed && ch.Status != smsflow.ConsentUnsubscribed {
		return fmt.Sprintf("%s opted out (%s, %s); an import never resubscribes a number", phone.Mask(e164), latest.Source, latest.OccurredAt.Format(time.RFC3339)), nil
	}
	ts := ch.Timestamp
	if ts.IsZero() {
		ts = now
	}
	e := &smsflow.ConsentEntry{Phone: e164, ContactID: contactID, Status: ch.Status, Source: ch.Source, Evidence: ch.Evidence, OccurredAt: ts.UTC(), RecordedAt: now}
	if err := tx.AppendConsent(e); err != nil {
		if smsflow.ErrorCode(err) != smsflow.EINTERNAL {
			return smsflow.ErrorMessage(err), nil
		}
		return "", err
	}
	// An import records history: its consent changes start no welcome flow.
	return "", store.ConsentEvent(tx, e, latestStatus(latest), false)
}

// importMessageID makes re-running the same import idempotent: the same row
// gets the same messageId.
func importMessageID(row *ImportRow) string {
	b, _ := json.Marshal(row)
	h := sha256.Sum256(b)
	return "import-" + hex.EncodeToString(h[:16])
}

// Reserved CSV columns; every other column becomes a trait.
const (
	colID       = "id"
	colPhone    = "phone"
	colTimezone = "timezone"
	colConsent  = "consent"
	colSource   = "consent_source"
	colConsentT = "consent_timestamp"
	colEvidence = "evidence_" // prefix: evidence_url, evidence_ip, evidence_text …
)

func csvRows(r io.Reader) (func() (*ImportRow, error), error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the CSV file is empty; it needs a header row with at least a %q column", colPhone)
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")))
	}
	hasPhone := false
	for _, h := range header {
		hasPhone = hasPhone || h == colPhone
	}
	if !hasPhone {
		return nil, fmt.Errorf("the CSV header %v has no %q column", header, colPhone)
	}
	return func() (*ImportRow, error) {
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &rowError{line: pe.Line, msg: pe.Err.Error()}
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, &rowError{line: line, msg: fmt.Sprintf("has %d fields; the header has %d", len(rec), len(header))}
		}
		row := &ImportRow{Line: line, Traits: map[string]any{}}
		var consent ConsentChange
		for i, h := range header {
			v := strings.TrimSpace(rec[i])
			switch {
			case h == colID:
				row.ID = v
			case h == colPhone:
				row.Phone = v
			case h == colTimezone:
				row.Timezone = v
			case h == colConsent || h == "consent_status":
				consent.Status = smsflow.ConsentStatus(strings.ToLower(v))
			case h == colSource:
				consent.Source = smsflow.ConsentSource(strings.ToLower(v))
			case h == colConsentT:
				if v != "" {
					t, err := time.Parse(time.RFC3339, v)
					if err != nil {
						return nil, &rowError{line: line, msg: fmt.Sprintf("consent_timestamp %q is not RFC 3339 (like 2026-11-28T10:00:00Z)", v)}
					}
					consent.Timestamp = t
				}
			case strings.HasPrefix(h, colEvidence):
				if v != "" {
					if consent.Evidence == nil {
						consent.Evidence = map[string]any{}
					}
					consent.Evidence[strings.TrimPrefix(h, colEvidence)] = v
				}
			case h != "" && v != "":
				row.Traits[h] = v
			}
		}
		if consent.Status != "" {
			row.Consent = &consent
		}
		return row, nil
	}, nil
}

func ndjsonRows(r io.Reader) func() (*ImportRow, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line, failed := 0, false
	return func() (*ImportRow, error) {
		for !failed && sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			var raw struct {
				ImportRow
				Consent json.RawMessage `json:"consent"`
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&raw); err != nil {
				return nil, &rowError{line: line, msg: "not a JSON object of {id, phone, timezone, traits, consent}: " + err.Error()}
			}
			row := raw.ImportRow
			row.Line = line
			if len(raw.Consent) > 0 && string(raw.Consent) != "null" {
				var s string
				if json.Unmarshal(raw.Consent, &s) == nil {
					row.Consent = &ConsentChange{Status: smsflow.ConsentStatus(strings.ToLower(s))}
				} else {
					var ch ConsentChange
					if err := json.Unmarshal(raw.Consent, &ch); err != nil {
						return nil, &rowError{line: line, msg: "consent: " + err.Error()}
					}
					row.Consent = &ch
				}
			}
			return &row, nil
		}
		if err := sc.Err(); err != nil && !failed {
			failed = true // the scanner cannot go on after an error
			return nil, fmt.Errorf("line %d: %w (lines are limited to 1 MB)", line+1, err)
		}
		return nil, io.EOF
	}
}

func latestStatus(e *smsflow.ConsentEntry) smsflow.ConsentStatus {
	if e == nil {
		return smsflow.ConsentNone
	}
	return e.Status
}
