package bench

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow/store"
)

// `bench broadcast` measures a broadcast's fan-out: N contacts with
// consent are bulk-loaded into the database, a promo flow with a
// segment trigger and one send step is loaded from a file, and the engine
// enters every contact at the flow's `at` and fans the messages out to the
// console provider (a loopback: it answers "delivered" at once).

// broadcastFlowID is the id of the flow the benchmark loads.
const broadcastFlowID = "broadcast"

// broadcastFlow is the benchmark's flow: a one-off promo campaign, entered
// at `at` by every contact matching where.
func broadcastFlow(where string, at time.Time) string {
	return fmt.Sprintf(`id: %s
name: Broadcast benchmark
category: promo
trigger:
  segment:
    where: %s
    at: %q
exit:
  - event: Order Completed
steps:
  - id: announce
    send: >-
      {{ brand.name }}: the spring sale starts now, {{ contact.traits.first_name | default: "friend" }}:
      20%% off everything today only. Reply STOP to opt out.
`, broadcastFlowID, yamlQuote(where), at.UTC().Format(time.RFC3339))
}

// yamlQuote writes s as a single-quoted YAML scalar.
func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// broadcastOptions configures one `bench broadcast`.
type broadcastOptions struct {
	benchRun
	Contacts int           // contacts loaded, all subscribed and matching
	Where    string        // the segment's condition
	Lead     time.Duration // from the app's start to the segment's `at`
}

// broadcastResult is one measured broadcast.
type broadcastResult struct {
	Database  string
	Contacts  int
	LoadTime  time.Duration // writing the contacts and their consent
	Entered   int64         // runs of the flow
	Sent      int64         // messages of the flow the provider reported delivered
	EnterTime time.Duration // from `at` to the last entry
	SendTime  time.Duration // from `at` to the last delivery
	Settled   time.Duration // from `at` until the engine had applied every delivery receipt
	PeakRSS   int64         // bytes, VmHWM during the broadcast
	// Correctness: contacts without a message, contacts with more than one.
	Missing, Duplicated int64
	Incomplete          string // why the run stopped early, "" when it finished
}

// SendsPerSec is the fan-out rate: messages delivered per second from `at`.
func (r broadcastResult) SendsPerSec() float64 {
	return perSecond(r.Sent, r.SendTime)
}

// Broadcast is `smsflow bench broadcast`.
func Broadcast(ctx context.Context, h Harness, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench broadcast", flag.ContinueOnError)
	o := broadcastOptions{benchRun: benchRun{Progress: stderr, Log: stderr}}
	o.flags(fs, "the broadcast (not the loading)", " past at")
	fs.IntVar(&o.Contacts, "contacts", 1_000_000, "contacts in the segment")
	fs.StringVar(&o.Where, "where", "contact.traits.vip == true", "the segment's CEL condition (every contact is a VIP)")
	fs.DurationVar(&o.Lead, "lead", 3*time.Second, "time from the app's start to the segment's at")
	if err := h.ParseFlags(fs, args, stderr); err != nil {
		return err
	}
	if o.Contacts < 1 || o.Contacts > broadcastCapacity {
		return fmt.Errorf("--contacts must be 1..%d", broadcastCapacity)
	}
	r, err := runBroadcastBench(ctx, h, o)
	if err != nil {
		return err // no table: a failed run has no figures (nor a check) to show
	}
	printBroadcast(stdout, r)
	switch {
	case r.Incomplete != "":
		return fmt.Errorf("broadcast incomplete: %s", r.Incomplete)
	case r.Missing > 0 || r.Duplicated > 0:
		return fmt.Errorf("check failed: %d contacts got no message, %d more than one", r.Missing, r.Duplicated)
	}
	return nil
}

// printBroadcast writes the result table.
func printBroadcast(w io.Writer, r broadcastResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "database\tcontacts\tload/s\tentered\tsent\tenter s\tseconds\tsends/s\tsettled s\tpeak RSS MB\t\n")
	settled := "-" // the engine had not applied every receipt yet
	if r.Incomplete == "" {
		settled = fmt.Sprintf("%.1f", r.Settled.Seconds())
	}
	fmt.Fprintf(tw, "%s\t%d\t%.0f\t%d\t%d\t%.1f\t%.1f\t%.0f\t%s\t%.0f\t\n", r.Database, r.Contacts,
		float64(r.Contacts)/max(r.LoadTime.Seconds(), 1e-9), r.Entered, r.Sent, r.EnterTime.Seconds(), r.SendTime.Seconds(),
		r.SendsPerSec(), settled, float64(r.PeakRSS)/(1<<20))
	tw.Flush()
	switch {
	case r.Incomplete != "":
		fmt.Fprintf(w, "incomplete: %s\n", r.Incomplete)
	case r.Missing == 0 && r.Duplicated == 0:
		fmt.Fprintf(w, "check: each of the %d contacts got exactly one message\n", r.Contacts)
	default:
		fmt.Fprintf(w, "check FAILED: %d contacts got no message, %d more than one\n", r.Missing, r.Duplicated)
	}
}

// runBroadcastBench loads the contacts, starts the app and measures the
// broadcast. On a timeout or cancellation it still returns what was done,
// with Incomplete saying why.
func runBroadcastBench(ctx context.Context, h Harness, o broadcastOptions) (broadcastResult, error) {
	o.defaults()
	if o.Where == "" {
		o.Where = "true"
	}
	dsn, cleanup, err := freshDatabase(ctx, o.DSN, o.Keep)
	if err != nil {
		return broadcastResult{}, err
	}
	defer cleanup()
	res := broadcastResult{Database: store.Scheme(dsn), Contacts: o.Contacts}

	cfg := appConfig(dsn)
	// The benchmark measures fan-out at any hour it is run: quiet hours
	// would hold the contacts whose evening it is (a real campaign's
	// deferral is tested in the engine's governance tests).
	cfg.QuietHours.Exempt = append(cfg.QuietHours.Exempt, "promo")
	db, err := openEmpty(ctx, dsn, "contacts", func(db *store.DB) (int64, error) { return db.CountContacts(ctx) })
	if err != nil {
		return res, err
	}

	fmt.Fprintf(o.Progress, "bench broadcast: %d contacts on %s\n", o.Contacts, res.Database)
	start := time.Now()
	err = loadContacts(ctx, db, o.Contacts, o.Progress)
	db.Close()
	if err != nil {
		return res, err
	}
	res.LoadTime = time.Since(start)
	fmt.Fprintf(o.Progress, "  loaded %d contacts in %s (%.0f/s)\n", o.Contacts, res.LoadTime.Round(time.Millisecond), float64(o.Contacts)/res.LoadTime.Seconds())

	at := time.Now().Add(o.Lead + time.Second).Truncate(time.Second)
	flows, err := flowDir("smsflow-broadcast-flows-", broadcastFlowID+".yaml", broadcastFlow(o.Where, at))
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(flows)
	cfg.Flows = flows

	a, stopApp, err := o.startMeasured(ctx, h, cfg, AppOptions{}, "loading")
	if err != nil {
		return res, err
	}
	defer stopApp()
	fmt.Fprintf(o.Progress, "  app started; segment entry at %s (in %s)\n", at.Format(time.TimeOnly), time.Until(at).Round(time.Millisecond))

	sdb, err := OpenSQL(dsn)
	if err != nil {
		return res, err
	}
	defer sdb.Close()
	res.Incomplete, err = watchBroadcast(ctx, sdb, a, o, at, &res)
	if err != nil {
		return res, err
	}
	stopApp()
	res.PeakRSS = procStatus("VmHWM")
	if err := measureBroadcast(context.WithoutCancel(ctx), sdb, at, &res); err != nil {
		return res, err
	}
	return res, nil
}

// watchBroadcast follows the broadcast until every contact entered, every
// message reached the provider and the engine applied every delivery
// receipt, printing progress. It returns why it stopped early, if it did.
func watchBroadcast(ctx context.Context, sdb *sql.DB, a App, o broadcastOptions, at time.Time, res *broadcastResult) (string, error) {
	// A segment is one job, or several shards (PostgreSQL): summed up.
	q := rebind(res.Database, `SELECT COALESCE(SUM(entered), 0), COUNT(*), COALESCE(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), 0),
 COALESCE(MIN(CASE WHEN status NOT IN ('pending', 'done') THEN status END), '') FROM segment_jobs WHERE flow_id = ?`)
	qUnsettled := `SELECT COUNT(*) FROM messages WHERE status IN ('queued', 'sending')`
	deadline := at.Add(o.Timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastLine := time.Now()
	var lastSent int64
	lastAt := at
	for {
		select {
		case <-ctx.Done():
			return "interrupted", nil
		case <-tick.C:
		}
		now := time.Now()
		var entered, jobs, done int64
		var status string
		err := sdb.QueryRowContext(ctx, q, broadcastFlowID).Scan(&entered, &jobs, &done, &status)
		switch {
		case err != nil:
		case status != "": // a job ended otherwise: reported below
		case jobs == 0:
			status = "not created yet"
		case done == jobs:
			status = "done"
		default:
			status = "pending"
		}
		if err != nil {
			if ctx.Err() != nil {
				return "interrupted", nil
			}
			return "", fmt.Errorf("read segment job: %w", err)
		}
		sent := a.ConsoleSent()
		if status != "pending" && status != "done" && status != "not created yet" {
			return "", fmt.Errorf("segment job ended %q", status)
		}
		// The provider's counter runs ahead of the database: a round's
		// outcomes (status, receipt event, inbox row) commit after its calls.
		// So "finished" is read from the database, messages before inbox.
		finished := status == "done" && sent >= entered
		if finished {
			var unsettled int64
			if err := sdb.QueryRowContext(ctx, qUnsettled).Scan(&unsettled); err != nil {
				if ctx.Err() != nil {
					return "interrupted", nil
				}
				return "", fmt.Errorf("read outbox: %w", err)
			}
			finished = unsettled == 0
		}
		var inbox int64 = -1
		if finished || now.Sub(lastLine) >= o.Every {
			if inbox, err = a.InboxDepth(ctx); err != nil && ctx.Err() == nil {
				return "", err
			}
		}
		if finished && inbox == 0 {
			res.Settled = now.Sub(at)
			fmt.Fprintf(o.Progress, "  %5.1fs entered %d, sent %d, engine inbox empty: done\n", now.Sub(at).Seconds(), entered, sent)
			return "", nil
		}
		if now.Sub(lastLine) >= o.Every && now.After(at) {
			rate := float64(sent-lastSent) / now.Sub(lastAt).Seconds()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(o.Progress, "  %5.1fs entered %d/%d (%s), sent %d (%.0f/s now), inbox %d, RSS %.0f MB (Go heap %.0f MB, from the OS %.0f MB)\n",
				now.Sub(at).Seconds(), entered, o.Contacts, status, sent, rate, inbox, float64(procStatus("VmRSS"))/(1<<20),
				float64(ms.HeapInuse)/(1<<20), float64(ms.Sys-ms.HeapReleased)/(1<<20))
			lastLine, lastSent, lastAt = now, sent, now
		}
		if now.After(deadline) {
			return fmt.Sprintf("timeout: %d of %d entered, %d sent after %s", entered, o.Contacts, sent, o.Timeout), nil
		}
	}
}

// measureBroadcast reads the outcome from the database once the app is
// stopped: entries, deliveries, their last times, and whether each contact
// got exactly one message.
func measureBroadcast(ctx context.Context, sdb *sql.DB, at time.Time, res *broadcastResult) error {
	row := func(q string, dest ...any) error {
		if err := sdb.QueryRowContext(ctx, rebind(res.Database, q), broadcastFlowID).Scan(dest...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return nil
	}
	var lastEnter, lastSend sql.NullInt64
	if err := row(`SELECT COUNT(*), MAX(entered_at) FROM runs WHERE flow_id = ?`, &res.Entered, &lastEnter); err != nil {
		return err
	}
	if err := row(`SELECT COUNT(*), MAX(updated_at) FROM messages WHERE flow_id = ? AND direction = 'out' AND status = 'delivered'`, &res.Sent, &lastSend); err != nil {
		return err
	}
	if lastEnter.Valid {
		res.EnterTime = time.UnixMicro(lastEnter.Int64).Sub(at)
	}
	if lastSend.Valid {
		res.SendTime = time.UnixMicro(lastSend.Int64).Sub(at)
	}
	var with int64
	if err := row(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN n > 1 THEN 1 ELSE 0 END), 0) FROM
(SELECT contact_id, COUNT(*) AS n FROM messages WHERE flow_id = ? AND direction = 'out' GROUP BY contact_id) per_contact`, &with, &res.Duplicated); err != nil {
		return err
	}
	res.Missing = int64(res.Contacts) - with
	return nil
}
