package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// seedPerTx is how many rows one seeding transaction writes (in multi-row
// statements, store.BulkInsertContacts and BulkInsertMessages): large
// transactions keep the seeding of a million rows short, next to what it
// prepares.
const seedPerTx = 10_000

// loadContacts writes n benchmark contacts (numbers from Phone,
// with zone and traits) and a "subscribed" consent entry for each, through
// the store's bulk load: the live path (a consent check and three
// statements per contact) would make loading a million contacts take
// longer than the broadcast it prepares.
func loadContacts(ctx context.Context, db *store.DB, n int, progress io.Writer) error {
	created := time.Now().Add(-24 * time.Hour).UnixMicro()
	contacts := make([]smsflow.Contact, 0, min(n, seedPerTx))
	consent := make([]smsflow.ConsentEntry, 0, min(n, seedPerTx))
	return seedRows(ctx, db, n, "contacts", progress, []string{"contacts", "consent_ledger"}, func(from, to int) error {
		contacts, consent = contacts[:0], consent[:0]
		for i := from; i < to; i++ {
			id := broadcastContactID(i, n)
			ph, zone := Phone(i)
			ts := time.UnixMicro(created + int64(i)).UTC()
			contacts = append(contacts, smsflow.Contact{ID: id, Phone: ph, PhoneType: "fixed_line_or_mobile", Timezone: zone,
				TimezoneSource: "number", Timezones: []string{zone},
				Traits:    map[string]any{"first_name": broadcastNames[i%len(broadcastNames)], "vip": true},
				CreatedAt: ts, UpdatedAt: ts})
			consent = append(consent, smsflow.ConsentEntry{Phone: ph, ContactID: id, Status: smsflow.ConsentSubscribed, Source: smsflow.SourceImport,
				Evidence: map[string]any{"url": "https://bench.example/join"}, OccurredAt: ts, RecordedAt: ts})
		}
		if err := db.BulkInsertContacts(ctx, contacts, consent); err != nil {
			return fmt.Errorf("load contacts %d…: %w", from, err)
		}
		return nil
	})
}

// seedOutbox writes n queued messages, the i-th to the i-th benchmark
// contact, as a flow's send step leaves them: one run each, category
// service, one GSM-7 segment. Bulk, as loadContacts, for the same reason.
func seedOutbox(ctx context.Context, db *store.DB, n int, progress io.Writer) error {
	now := time.UnixMicro(time.Now().UnixMicro()).UTC()
	msgs := make([]smsflow.Message, 0, min(n, seedPerTx))
	return seedRows(ctx, db, n, "messages", progress, []string{"messages"}, func(from, to int) error {
		msgs = msgs[:0]
		for i := from; i < to; i++ {
			ph, _ := Phone(i)
			body := fmt.Sprintf("smsflow: order %07d has shipped and arrives tomorrow. Reply HELP for help.", i+1)
			msgs = append(msgs, smsflow.Message{Direction: "out", RunID: int64(i + 1), StepID: "notify", FlowID: sendFlow,
				ContactID: broadcastContactID(i, n), Phone: ph, Body: body, Encoding: "GSM-7", Characters: len(body), Segments: 1,
				Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now, Category: "service"})
		}
		if err := db.BulkInsertMessages(ctx, msgs); err != nil {
			return fmt.Errorf("seed outbox %d…: %w", from, err)
		}
		return nil
	})
}

// seedRows writes n generated rows, the way the benchmarks load their
// data: write(from, to) writes rows [from, to) in one transaction of at
// most seedPerTx rows, with a progress line every 2 s. The tables'
// statistics are refreshed afterwards (PostgreSQL), so the planner knows
// they are big.
func seedRows(ctx context.Context, db *store.DB, n int, what string, progress io.Writer, tables []string, write func(from, to int) error) error {
	start, last := time.Now(), time.Now()
	for from := 0; from < n; {
		to := min(from+seedPerTx, n)
		if err := write(from, to); err != nil {
			return err
		}
		from = to
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			fmt.Fprintf(progress, "  loading: %d/%d %s (%.0f/s)\n", from, n, what, float64(from)/time.Since(start).Seconds())
		}
	}
	return db.RefreshStatistics(ctx, tables...)
}

// flowDir writes a flows directory holding one flow file, name with src,
// in a new temporary directory (prefix names it); the caller removes it.
func flowDir(prefix, name, src string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// inParallel calls write(from) for from = 0, per, 2·per, … below n on
// workers goroutines, and returns the first error (feeding stops at it).
// With every > 0, progress is called that often while rows are fed.
func inParallel(n, per, workers int, every time.Duration, progress func(), write func(from int) error) error {
	jobs := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range jobs {
				if err := write(from); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	var err error
feed:
	for from := 0; from < n; from += per {
		select {
		case jobs <- from:
		case err = <-errc:
			break feed
		case <-tick:
			progress()
			from -= per // not sent: feed it again
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	default:
	}
	return nil
}
