// Command chaos is the many-nodes chaos test (scripts/chaos.sh runs it):
// several `smsflow serve` nodes on one PostgreSQL send through a fake Twilio
// under a steady load of events that start flows with a wait between two
// paced sends; every few seconds a random node is killed with SIGKILL and
// restarted, and once mid-run PostgreSQL itself is restarted. After the
// load it lets the cluster drain and checks the product's promises from
// the fake's request log and the database:
//
//   - no message reached the provider twice (by smsflow message id, and by
//     body);
//   - every acknowledged (2xx) event is stored and started its run;
//   - every send is done or explained: sent, or failed/canceled with a
//     reason; none left queued, sending or unknown (Twilio can be asked);
//   - at most rate + 1 requests reached the provider in any sliding second;
//   - timers fire on time after recovery (lateness p50/p99/max printed).
//
// It exits 1 when a promise is broken, 2 when it could not run.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smsflow/smsflow/bench"
	"github.com/smsflow/smsflow/store"
	_ "github.com/smsflow/smsflow/store/postgres" // the pgx driver
)

type options struct {
	dsn          string
	binary       string
	duration     time.Duration
	nodes        int
	rate         int
	eventsPerSec float64
	killEvery    time.Duration
	pgRestart    string
	nodeTTL      time.Duration
	wait         time.Duration
	drain        time.Duration
	maxLate      time.Duration
	keep         bool
	verbose      bool
}

func main() {
	var o options
	fs := flag.NewFlagSet("chaos", flag.ExitOnError)
	fs.StringVar(&o.dsn, "db", envOr("SMSFLOW_TEST_POSTGRES", "postgres://postgres:smsflow@127.0.0.1:5432/smsflow_test?sslmode=disable"),
		"PostgreSQL `URL` (a fresh schema is made in it and dropped afterwards)")
	fs.StringVar(&o.binary, "binary", "", "smsflow binary to run (default: built from ./cmd/smsflow into a temporary directory)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long the load and the kills go on")
	fs.IntVar(&o.nodes, "nodes", 3, "serve nodes")
	fs.IntVar(&o.rate, "rate", 10, "twilio.rate of the sender, in messages per second")
	fs.Float64Var(&o.eventsPerSec, "events", 4, "events per second (each starts a run with two sends)")
	fs.DurationVar(&o.killEvery, "kill-every", 5*time.Second, "mean time between SIGKILLs of a random node")
	fs.StringVar(&o.pgRestart, "pg-restart", "pg_ctlcluster 15 main restart", "command that restarts PostgreSQL once mid-run; \"terminate\" instead cuts only this run's sessions for 3 s (a machine whose PostgreSQL others use); \"\" skips it")
	fs.DurationVar(&o.nodeTTL, "node-ttl", 5*time.Second, "node_ttl of the nodes: how soon a killed node's claims are taken over")
	fs.DurationVar(&o.wait, "wait", 3*time.Second, "the flow's wait between its two sends (a timer)")
	fs.DurationVar(&o.drain, "drain", 3*time.Minute, "how long the cluster may take to finish after the load")
	fs.DurationVar(&o.maxLate, "max-timer-late", 5*time.Second, "p99 timer lateness allowed after recovery")
	fs.BoolVar(&o.keep, "keep", false, "keep the PostgreSQL schema afterwards")
	fs.BoolVar(&o.verbose, "v", false, "print the nodes' log lines")
	fs.Parse(os.Args[1:])
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	violations, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if violations > 0 {
		fmt.Printf("chaos: FAILED: %d promise(s) broken\n", violations)
		os.Exit(1)
	}
	fmt.Println("chaos: OK: every promise kept")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// chaosFlow: one run per event, a confirmation, a wait, then a second send.
const chaosFlow = `id: chaos
name: Chaos
category: service
trigger:
  event: Chaos Order
steps:
  - id: confirm
    send: "Order {{ event.properties.ref }} confirmed."
  - wait: %s
  - id: shipped
    send: "Order {{ event.properties.ref }} shipped."
`

var bodyRe = regexp.MustCompile(`Order (ev-\d+) (confirmed|shipped)`)

// logf prints a progress line with the time since start.
var start = time.Now()

func logf(format string, args ...any) {
	fmt.Printf("[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, o options) (int, error) {
	if store.Scheme(o.dsn) != "postgres" {
		return 0, errors.New("--db must be a postgres:// URL")
	}
	if o.binary == "" {
		dir, err := os.MkdirTemp("", "smsflow-chaos-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		o.binary = filepath.Join(dir, "smsflow")
		logf("building %s", o.binary)
		build := exec.CommandContext(ctx, "go", "build", "-o", o.binary, "./cmd/smsflow")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return 0, fmt.Errorf("go build: %w", err)
		}
	}
	dsn, drop, err := bench.FreshDatabase(ctx, o.dsn, o.keep)
	if err != nil {
		return 0, err
	}
	defer drop()
	var logw *os.File
	if o.verbose {
		logw = os.Stdout
	}
	// The nodes' sessions carry a name of their own: "terminate" cuts
	// them, and only them.
	appName := fmt.Sprintf("smsflow-chaos-%x", rand.Int64())
	nodeDSN := dsn + "&application_name=" + appName
	if !strings.Contains(dsn, "?") {
		nodeDSN = dsn + "?application_name=" + appName
	}
	cfg := bench.ClusterConfig{Binary: o.binary, DSN: nodeDSN, Nodes: o.nodes, Rate: fmt.Sprintf("%d/s", o.rate),
		Flows:   map[string]string{"chaos.yaml": fmt.Sprintf(chaosFlow, o.wait)},
		Env:     []string{"SMSFLOW_NODE_TTL=" + o.nodeTTL.String()},
		Latency: time.Millisecond}
	if logw != nil {
		cfg.Log = logw
	}
	logf("starting %d nodes on %s (twilio.rate %d/s, node_ttl %s)", o.nodes, store.RedactDSN(dsn), o.rate, o.nodeTTL)
	c, err := bench.StartCluster(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer c.Stop()
	db, err := bench.OpenSQL(dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()

	total := int(o.eventsPerSec * o.duration.Seconds())
	ref := func(k int) string { return fmt.Sprintf("ev-%06d", k) }
	hc := &http.Client{Timeout: 10 * time.Second}
	// Contacts first, not under the kills.
	for from := 0; from < total; from += 500 {
		var items []string
		for k := from; k < min(from+500, total); k++ {
			ph, _ := bench.Phone(k)
			items = append(items, fmt.Sprintf(`{"type":"identify","userId":"chaos-%06d","traits":{"phone":%q},"messageId":"id-%06d"}`, k, ph, k))
		}
		if st, err := c.Post(ctx, hc, 0, "/v1/batch", `{"batch":[`+strings.Join(items, ",")+`]}`); err != nil || st != 200 {
			return 0, fmt.Errorf("identify contacts: HTTP %d %v", st, err)
		}
	}

	// The load: one event every 1/eventsPerSec, to a random node that is
	// up; a post a kill cut off is posted again (same messageId) elsewhere.
	var (
		acked    = make([]atomic.Bool, total)
		posted   atomic.Int64
		retried  atomic.Int64
		loadDone = make(chan struct{})
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go func() {
		defer close(loadDone)
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Duration(float64(time.Second) / o.eventsPerSec))
		defer tick.Stop()
		for k := 0; k < total; k++ {
			select {
			case <-tick.C:
			case <-loadCtx.Done():
				return
			}
			wg.Add(1)
			posted.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"userId":"chaos-%06d","event":"Chaos Order","messageId":"chaos-%s","properties":{"ref":%q}}`, k, ref(k), ref(k))
				for attempt := 0; ctx.Err() == nil; attempt++ {
					i := rand.IntN(c.Nodes())
					st, err := c.Post(ctx, hc, i, "/v1/track", body)
					if err == nil && st/100 == 2 {
						acked[k].Store(true)
						return
					}
					if err == nil && st < 500 && st != 429 {
						logf("event %s refused: HTTP %d", ref(k), st)
						return
					}
					retried.Add(1)
					time.Sleep(100 * time.Millisecond) // another node, a moment later
				}
			}()
		}
		wg.Wait()
	}()

	// The chaos: SIGKILL a random node every killEvery (±50%), restart it
	// a moment later; PostgreSQL restarted once, halfway.
	kills, selfExits := 0, 0
	var pgRestartedAt time.Time
	deadline := time.Now().Add(o.duration)
	pgAt := time.Now().Add(o.duration / 2)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pause := time.Duration(float64(o.killEvery) * (0.5 + rand.Float64()))
		select {
		case <-time.After(min(pause, time.Until(deadline))):
		case <-ctx.Done():
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		for i := range c.Nodes() {
			if c.Exited(i) && c.URL(i) == "" && !restartQuietly(ctx, c, i) {
				selfExits++
			}
		}
		if o.pgRestart != "" && pgRestartedAt.IsZero() && time.Now().After(pgAt) {
			logf("restarting PostgreSQL: %s", o.pgRestart)
			pgRestartedAt = time.Now()
			if o.pgRestart == "terminate" {
				cut := 0
				for until := time.Now().Add(3 * time.Second); time.Now().Before(until); {
					var n int
					q(ctx, db, &n, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?`, appName)
					cut += n
					time.Sleep(20 * time.Millisecond)
				}
				logf("cut %d sessions of the nodes over 3 s", cut)
			} else if out, err := exec.CommandContext(ctx, "sh", "-c", o.pgRestart).CombinedOutput(); err != nil {
				return 0, fmt.Errorf("%s: %v\n%s", o.pgRestart, err, out)
			}
			if err := awaitPostgres(ctx, db); err != nil {
				return 0, err
			}
			logf("PostgreSQL is back after %s", time.Since(pgRestartedAt).Round(time.Millisecond))
			continue
		}
		i := rand.IntN(c.Nodes())
		if c.URL(i) == "" {
			continue
		}
		c.Kill(i)
		kills++
		down := 200*time.Millisecond + time.Duration(rand.Int64N(int64(1500*time.Millisecond)))
		logf("kill %d: node %d SIGKILLed; %d requests at the provider, %d events acknowledged; restarting in %s",
			kills, i, c.Fake.Count(), count(acked), down.Round(time.Millisecond))
		time.Sleep(down)
		if err := c.Start(ctx, i); err != nil {
			return 0, fmt.Errorf("restart node %d: %w", i, err)
		}
	}
	stopLoad()
	<-loadDone
	for i := range c.Nodes() {
		if c.URL(i) == "" {
			if c.Exited(i) {
				selfExits++
			}
			if err := c.Start(ctx, i); err != nil {
				return 0, fmt.Errorf("restart node %d: %w", i, err)
			}
		}
	}
	logf("load over: %d of %d events posted acknowledged (%d posts retried), %d kills; draining (at most %s)", count(acked), posted.Load(), retried.Load(), kills, o.drain)

	// Drain: every acknowledged event's run done, nothing left to send.
	drainBy := time.Now().Add(o.drain)
	for {
		var pending, waiting, inbox int64
		q(ctx, db, &pending, `SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status IN ('queued', 'sending', 'unknown')`)
		q(ctx, db, &waiting, `SELECT COUNT(*) FROM runs WHERE flow_id = 'chaos' AND ended_at = 0`)
		q(ctx, db, &inbox, `SELECT COUNT(*) FROM inbox`)
		if pending == 0 && waiting == 0 && inbox == 0 {
			break
		}
		if time.Now().After(drainBy) {
			logf("not drained after %s: %d messages queued, sending or unknown; %d runs open; %d inbox items", o.drain, pending, waiting, inbox)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	return check(ctx, o, c, db, acked, int(posted.Load()), ref, pgRestartedAt, kills, selfExits)
}

// restartQuietly restarts node i, which exited without being killed;
// reports false (a node that exits on its own is a finding).
func restartQuietly(ctx context.Context, c *bench.Cluster, i int) bool {
	log := c.Log(i)
	logf("node %d exited on its own; the end of its log:\n%s", i, log[max(0, len(log)-2000):])
	if err := c.Start(ctx, i); err != nil {
		logf("restart node %d: %v", i, err)
	}
	return false
}

func awaitPostgres(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := db.PingContext(ctx); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL not back 60 s after the restart: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func count(acked []atomic.Bool) int {
	n := 0
	for i := range acked {
		if acked[i].Load() {
			n++
		}
	}
	return n
}

func q(ctx context.Context, db *sql.DB, dst any, query string, args ...any) {
	if err := db.QueryRowContext(ctx, store.RebindDollar(query), args...).Scan(dst); err != nil {
		logf("query %q: %v", query, err)
	}
}

// check compares the provider's log and the database with the promises.
func check(ctx context.Context, o options, c *bench.Cluster, db *sql.DB, acked []atomic.Bool, posted int, ref func(int) string, pgRestartedAt time.Time, kills, selfExits int) (int, error) {
	violations := 0
	fail := func(format string, args ...any) {
		violations++
		fmt.Printf("VIOLATION: "+format+"\n", args...)
	}
	reqs := c.Fake.Requests()
	if selfExits > 0 {
		fail("%d node process(es) exited without being killed (a kill, an outage or PostgreSQL restarting must not stop a node)", selfExits)
	}
	if p := c.Fake.Problems(); len(p) > 0 {
		fail("the fake Twilio refused %d requests: %v", len(p), p[:min(3, len(p))])
	}

	// 1. No duplicate provider requests.
	byID, byBody := map[int64]int{}, map[string]int{}
	for _, r := range reqs {
		if id := bench.MessageOf(r); id != 0 {
			byID[id]++
		}
		if m := bodyRe.FindStringSubmatch(r.Body); m != nil {
			byBody[m[1]+" "+m[2]]++
		}
	}
	dups := 0
	for id, n := range byID {
		if n > 1 {
			dups++
			if dups <= 5 {
				fail("message %d reached the provider %d times", id, n)
			}
		}
	}
	for b, n := range byBody {
		if n > 1 {
			dups++
			if dups <= 10 {
				fail("%q reached the provider %d times", b, n)
			}
		}
	}

	// 2. Every acknowledged event is stored and started its run.
	stored := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT message_id FROM events WHERE message_id LIKE 'chaos-ev-%'`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		stored[id] = true
	}
	rows.Close()
	lost, ackedN := 0, 0
	for k := range acked {
		if !acked[k].Load() {
			continue
		}
		ackedN++
		if !stored["chaos-"+ref(k)] {
			if lost++; lost <= 5 {
				fail("event %s was acknowledged (2xx) and is not in the database", ref(k))
			}
		}
	}
	if lost > 5 {
		fail("… %d acknowledged events lost in all", lost)
	}
	var runs, contactsWithRun int64
	q(ctx, db, &runs, `SELECT COUNT(*) FROM runs WHERE flow_id = 'chaos'`)
	q(ctx, db, &contactsWithRun, `SELECT COUNT(DISTINCT contact_id) FROM runs WHERE flow_id = 'chaos'`)
	if runs != contactsWithRun {
		fail("%d runs for %d contacts: an event started two runs", runs, contactsWithRun)
	}
	if int(contactsWithRun) < ackedN-lost {
		fail("%d acknowledged events started only %d runs", ackedN, contactsWithRun)
	}

	// 3. Every due send done or explained, and sent ones at the provider once.
	type msg struct {
		id                    int64
		contact, step, status string
		code                  string
		created               int64
	}
	rows, err = db.QueryContext(ctx, `SELECT id, contact_id, step_id, status, error_code, created_at FROM messages WHERE direction = 'out' AND flow_id = 'chaos'`)
	if err != nil {
		return 0, err
	}
	var msgs []msg
	statuses := map[string]int{}
	for rows.Next() {
		var m msg
		var step sql.NullString
		if err := rows.Scan(&m.id, &m.contact, &step, &m.status, &m.code, &m.created); err != nil {
			rows.Close()
			return 0, err
		}
		m.step = step.String
		msgs = append(msgs, m)
		statuses[m.status]++
	}
	rows.Close()
	unexplained := 0
	for _, m := range msgs {
		switch m.status {
		case "sent", "delivered":
			if byID[m.id] != 1 {
				if unexplained++; unexplained <= 5 {
					fail("message %d is %s but reached the provider %d times", m.id, m.status, byID[m.id])
				}
			}
		case "failed", "canceled":
			if m.code == "" {
				if unexplained++; unexplained <= 5 {
					fail("message %d ended %s with no reason", m.id, m.status)
				}
			}
			if byID[m.id] > 0 {
				if unexplained++; unexplained <= 5 {
					fail("message %d ended %s (%s) but reached the provider", m.id, m.status, m.code)
				}
			}
		default:
			if unexplained++; unexplained <= 5 {
				fail("message %d ended %q (%s): neither done nor explained (Twilio can be asked)", m.id, m.status, m.code)
			}
		}
	}
	if unexplained > 5 {
		fail("… %d messages neither done nor explained in all", unexplained)
	}
	if want := 2 * int(contactsWithRun); len(msgs) != want {
		fail("%d messages for %d runs, want %d (two sends per run)", len(msgs), contactsWithRun, want)
	}

	// 4. At most rate + 1 requests in any sliding second.
	most, at := bench.MostInOneSecond(reqs)
	if most > o.rate+1 {
		fail("%d requests reached the provider in the second from %s (rate %d/s: at most %d)", most, at.Sub(start).Round(time.Millisecond), o.rate, o.rate+1)
	}

	// 5. Timers on time: the second send is queued wait after the first.
	byContact := map[string]map[string]int64{}
	for _, m := range msgs {
		if byContact[m.contact] == nil {
			byContact[m.contact] = map[string]int64{}
		}
		byContact[m.contact][m.step] = m.created
	}
	var all, after []time.Duration
	for _, s := range byContact {
		first, ok1 := s["confirm"]
		second, ok2 := s["shipped"]
		if !ok1 || !ok2 {
			continue
		}
		due := time.UnixMicro(first).Add(o.wait)
		late := time.UnixMicro(second).Sub(due)
		all = append(all, late)
		if !pgRestartedAt.IsZero() && due.After(pgRestartedAt.Add(10*time.Second)) || pgRestartedAt.IsZero() {
			after = append(after, late)
		}
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[min(len(ds)-1, int(q*float64(len(ds))))]
	}
	p99After := p(after, 0.99)
	if len(after) > 0 && p99After > o.maxLate {
		fail("timers due after recovery fired late: p99 %s (at most %s)", p99After.Round(time.Millisecond), o.maxLate)
	}

	fmt.Println("== chaos summary")
	fmt.Printf("nodes %d, duration %s, kills %d, nodes that exited on their own %d, PostgreSQL restarted: %v\n", o.nodes, o.duration, kills, selfExits, !pgRestartedAt.IsZero())
	fmt.Printf("events: %d acknowledged of %d posted, %d lost; runs %d\n", ackedN, posted, lost, runs)
	fmt.Printf("messages: %d (%v); provider requests %d, duplicates %d\n", len(msgs), statuses, len(reqs), dups)
	fmt.Printf("rate: at most %d requests in any sliding second (twilio.rate %d/s, allowed %d)\n", most, o.rate, o.rate+1)
	fmt.Printf("timer lateness (all %d): p50 %s p99 %s max %s; due ≥10 s after the PostgreSQL restart (%d): p50 %s p99 %s max %s\n",
		len(all), p(all, 0.5).Round(time.Millisecond), p(all, 0.99).Round(time.Millisecond), p(all, 1).Round(time.Millisecond),
		len(after), p(after, 0.5).Round(time.Millisecond), p99After.Round(time.Millisecond), p(after, 1).Round(time.Millisecond))
	var found, resent int
	for i := range c.Nodes() {
		log := c.Log(i)
		found += strings.Count(log, "an interrupted message was found at the provider")
		resent += strings.Count(log, "an interrupted message is queued again")
		if strings.Contains(log, "panic") {
			fail("node %d's log mentions a panic", i)
		}
	}
	fmt.Printf("interrupted messages found at the provider %d, queued again %d\n", found, resent)
	return violations, nil
}
