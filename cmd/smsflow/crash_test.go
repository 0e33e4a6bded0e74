package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsflow/smsflow/bench"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider/twilio/twiliotest"
	"github.com/smsflow/smsflow/store/storetest"
)

// crashFlow sends one service message per "Parcel Ready" event; the body
// carries the event's unique ref, so a second send to the same contact is
// visible at the provider. Service messages are exempt from quiet hours:
// the test does not depend on the time of day.
const crashFlow = `id: crash
name: Crash test
category: service
trigger:
  event: Parcel Ready
steps:
  - id: notify
    send: "Parcel {{ event.properties.ref }} is ready for pickup."
`

var (
	crashRefRe      = regexp.MustCompile(`Parcel (ref-\d+) is ready`)
	crashUnknownLog = regexp.MustCompile(`marked unknown \(not resent\)" count=(\d+)`)
)

// crashWorld is the moving part of the crash test: the smsflow process
// currently running (replaced after each kill) and what the load saw.
type crashWorld struct {
	mu      sync.Mutex
	url     string        // "" while the process is down
	changed chan struct{} // closed (and replaced) whenever url changes
}

func (w *crashWorld) set(u string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.url = u
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *crashWorld) get() (string, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.url, w.changed
}

// TestCrashKill9NeverSendsTwice runs the real binary against a fake Twilio
// on loopback, posts one event per contact while killing the process with
// SIGKILL at random moments of sending (five times, restarting it each
// time), lets it drain, and then checks the guarantees from the provider's log and
// the database: no contact was sent to twice, every message ended sent,
// failed or unknown, the unknown ones are exactly those a kill caught in
// "sending" with their call marked started (the rest of a claimed round is
// queued again at the restart and sent once), and every acknowledged event
// produced its run.
func TestCrashKill9NeverSendsTwice(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) { crashTest(t, kind, dsn) })
	}
}

// crashKills is how many times the crash test kills the process: 20 in CI,
// more with SMSFLOW_CRASH_KILLS (a longer run).
func crashKills(t *testing.T) int {
	if v := os.Getenv("SMSFLOW_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SMSFLOW_CRASH_KILLS=%q: want a positive whole number", v)
		}
		return n
	}
	return 20
}

func crashTest(t *testing.T, kind, dsn string) {
	kills := crashKills(t)
	contacts := max(1000, 50*kills)
	const (
		clients = 4
		// window is how far event posting may run ahead of the sends that
		// reached the provider: the kills then hit ingestion and sending
		// alike, not a drained queue.
		window = 150
	)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second+time.Duration(kills)*3*time.Second)
	defer cancel()

	h := newKillHarness(t, ctx, kind, dsn,
		"SMSFLOW_TWILIO_RATE=", // no pacing: sends as fast as the fake takes them
		// An interrupted message the fake has no record of is sent again
		// after 2 s (10 min in production, for Twilio's list to catch up).
		"SMSFLOW_TWILIO_RECONCILE_AFTER=2s",
		"SMSFLOW_WRITE_KEY=wk_crash", "SMSFLOW_SERVER_KEY=sk_crash", "SMSFLOW_ADMIN_KEY=ak_crash", "SMSFLOW_LOG_LEVEL=warn",
	)
	fake, sdb, count := h.fake, h.sdb, h.count
	// Each PostgreSQL process gets its own application_name, so the test can
	// wait until the server has dropped a killed process's sessions (and
	// finished any COMMIT it had received) before looking at the rows.
	appName := func(gen int) string { return fmt.Sprintf("smsflow-crash-%x-%d", start.UnixNano(), gen) }
	dsnFor := func(gen int) string { return withAppName(t, dsn, appName(gen)) }

	// One address for every process, as a real node restarts on its port:
	// the node id (host and address) is the same, so each restart takes back
	// its predecessor's claims at once rather than after the node TTL.
	addr := crashFreeAddr(t)
	startServer := func(t *testing.T, dsn string, env ...string) *server {
		return startServerIn(t, t.TempDir(), []string{"--db", dsn, "--addr", addr}, env...)
	}
	gen := 0
	srv := startServer(t, dsnFor(gen), h.env...)
	servers := []*server{srv}
	world := &crashWorld{changed: make(chan struct{})}
	world.set(srv.url)

	// Contacts with their numbers first (not under the kills).
	contactID := func(i int) string { return fmt.Sprintf("crash-%05d", i) }
	for from := 0; from < contacts; from += 100 {
		var items []string
		for i := from; i < min(from+100, contacts); i++ {
			ph, _ := bench.Phone(i)
			items = append(items, fmt.Sprintf(`{"type":"identify","userId":%q,"traits":{"phone":%q},"messageId":"crash-id-%05d"}`, contactID(i), ph, i))
		}
		if r := call(t, "POST", srv.url+"/v1/batch", "basic:sk_crash", `{"batch":[`+strings.Join(items, ",")+`]}`); r.status != 200 || r.body["errors"] != nil {
			t.Fatalf("identify: %d %s", r.status, r.raw)
		}
	}

	// The load: clients post one "Parcel Ready" per contact; a request the
	// kill cut off is posted again (same messageId) to the next process, as
	// a real client retries.
	var (
		next      atomic.Int64 // next contact to post
		lost      atomic.Int64 // messages caught in "sending" by kills so far
		acked     = make([]atomic.Bool, contacts)
		retried   atomic.Int64
		loadErr   = make(chan error, clients)
		loadGroup sync.WaitGroup
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	post := func(i int) error {
		body := fmt.Sprintf(`{"userId":%q,"event":"Parcel Ready","messageId":"crash-ev-%05d","properties":{"ref":"ref-%05d"}}`, contactID(i), i, i)
		for {
			u, changed := world.get()
			if u != "" {
				req, _ := http.NewRequestWithContext(ctx, "POST", u+"/v1/track", strings.NewReader(body))
				req.SetBasicAuth("sk_crash", "") // a back end
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode/100 == 2 {
						acked[i].Store(true)
						return nil
					}
					if resp.StatusCode < 500 {
						return fmt.Errorf("track %s: HTTP %d", contactID(i), resp.StatusCode)
					}
				}
				retried.Add(1)
			}
			// Down or cut off: wait for the next process (or retry soon, in
			// case the error was not the kill).
			select {
			case <-changed:
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return fmt.Errorf("track %s: %w", contactID(i), ctx.Err())
			}
		}
	}
	for range clients {
		loadGroup.Add(1)
		go func() {
			defer loadGroup.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= contacts {
					return
				}
				// Stay within window of the provider's progress; lost sends
				// never reach it, so they widen the window.
				for {
					need := int64(i) - window - lost.Load()
					wctx, wcancel := context.WithTimeout(ctx, 200*time.Millisecond)
					err := fake.AwaitCount(wctx, need)
					wcancel()
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						loadErr <- err
						return
					}
				}
				if err := post(i); err != nil {
					loadErr <- err
					return
				}
			}
		}()
	}

	// The kills: each at a random point of the provider's progress — right
	// after a request reached the fake Twilio, so a send is in flight.
	span := int64(contacts / 2 / kills)
	var sendingAtKill []int64
	var claimedAtKill int64
	for k := range kills {
		target := fake.Count() + 1 + rand.Int64N(span)
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		err := fake.AwaitCount(wctx, target)
		wcancel()
		if err != nil {
			t.Fatalf("kill %d: %v\nserver log:\n%s", k+1, err, srv.stoppedLog())
		}
		h.kill(srv, appName(gen))
		world.set("")
		// Only the calls marked started can end unknown; the rest of the
		// claimed rounds go back to the queue at the restart.
		n := count(`SELECT COUNT(*) FROM messages WHERE status = 'queued' AND claim <> 0 AND called_at <> 0`)
		claimedAtKill += count(`SELECT COUNT(*) FROM messages WHERE status = 'queued' AND claim <> 0`)
		sendingAtKill = append(sendingAtKill, n)
		lost.Add(n)
		t.Logf("kill %d at %s: provider has %d requests, %d messages in the database, %d sending, %d events acknowledged",
			k+1, time.Since(start).Round(time.Millisecond), fake.Count(), count(`SELECT COUNT(*) FROM messages WHERE direction = 'out'`), n, crashAcked(acked[:]))
		gen++
		srv = startServer(t, dsnFor(gen), h.env...)
		servers = append(servers, srv)
		world.set(srv.url)
	}

	// Every event gets acknowledged, then everything drains.
	loaded := make(chan struct{})
	go func() { loadGroup.Wait(); close(loaded) }()
	select {
	case <-loaded:
	case <-ctx.Done():
		t.Fatalf("load did not finish: %d of %d events acknowledged", crashAcked(acked[:]), contacts)
	}
	close(loadErr)
	for err := range loadErr {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		pending := count(`SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status IN ('queued', 'sending', 'unknown')`)
		runs := count(`SELECT COUNT(*) FROM runs WHERE flow_id = 'crash'`)
		msgs := count(`SELECT COUNT(*) FROM messages WHERE direction = 'out'`)
		inbox := count(`SELECT COUNT(*) FROM inbox`)
		if pending == 0 && runs >= int64(contacts) && msgs >= int64(contacts) && inbox == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained after 90 s (reconciliation included): %d runs, %d messages (%d queued, sending or unknown), %d inbox items\nlast server log:\n%s",
				runs, msgs, pending, inbox, srv.stoppedLog())
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, bounded by deadline
	}
	srv.kill()

	// The provider's side: what reached it, by the ref in the body.
	atProvider := map[string][]twiliotest.Request{}
	for _, r := range fake.Requests() {
		m := crashRefRe.FindStringSubmatch(r.Body)
		if m == nil {
			t.Errorf("provider got a body without a ref: %q", r.Body)
			continue
		}
		atProvider[m[1]] = append(atProvider[m[1]], r)
	}
	if p := fake.Problems(); len(p) > 0 {
		t.Errorf("fake Twilio refused requests: %v", p)
	}
	for ref, rs := range atProvider {
		if len(rs) > 1 {
			t.Errorf("%s was sent %d times (sids %s, %s): a step was sent twice", ref, len(rs), rs[0].SID, rs[1].SID)
		}
	}
	perNumber := map[string]int{}
	for _, r := range fake.Requests() {
		if perNumber[r.To]++; perNumber[r.To] == 2 {
			t.Errorf("%s got more than one message", r.To)
		}
	}

	// The database's side.
	type msg struct {
		id                            int64
		contact, status, sid, code, b string
	}
	rows, err := sdb.QueryContext(ctx, `SELECT id, contact_id, status, provider_id, error_code, body FROM messages WHERE direction = 'out' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	byContact := map[string][]msg{}
	statuses := map[string]int{}
	for rows.Next() {
		var m msg
		if err := rows.Scan(&m.id, &m.contact, &m.status, &m.sid, &m.code, &m.b); err != nil {
			t.Fatal(err)
		}
		byContact[m.contact] = append(byContact[m.contact], m)
		statuses[m.status]++
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range contacts {
		c, ref := contactID(i), fmt.Sprintf("ref-%05d", i)
		ms := byContact[c]
		if len(ms) != 1 {
			t.Errorf("%s has %d outbound messages, want 1", c, len(ms))
			continue
		}
		m, sent := ms[0], atProvider[ref]
		if !strings.Contains(m.b, ref) {
			t.Errorf("%s's message %d has body %q, want its ref %s", c, m.id, m.b, ref)
		}
		switch m.status {
		case "sent", "delivered":
			if len(sent) != 1 || sent[0].SID != m.sid {
				t.Errorf("%s's message %d is %s with sid %q, but the provider has %d requests for it %v", c, m.id, m.status, m.sid, len(sent), sent)
			}
		default:
			// Twilio can be asked: a message a kill interrupted is found
			// in its list (recorded with its sid) or sent again; none may
			// stay unknown, none may be lost.
			t.Errorf("%s's message %d ended %q (code %q), want sent or delivered (the fake provider refuses nothing and can be asked); the provider has %d requests for it",
				c, m.id, m.status, m.code, len(sent))
		}
	}
	var runsPerContact []struct {
		contact string
		n       int64
	}
	rows, err = sdb.QueryContext(ctx, `SELECT contact_id, COUNT(*) FROM runs WHERE flow_id = 'crash' GROUP BY contact_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r struct {
			contact string
			n       int64
		}
		if err := rows.Scan(&r.contact, &r.n); err != nil {
			t.Fatal(err)
		}
		runsPerContact = append(runsPerContact, r)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	withRun := 0
	for _, r := range runsPerContact {
		withRun++
		if r.n != 1 {
			t.Errorf("%s entered the flow %d times, want once", r.contact, r.n)
		}
	}
	if withRun != contacts {
		t.Errorf("%d of %d acknowledged events produced a run: acknowledged events were lost", withRun, contacts)
	}

	// The restarts marked unknown exactly the messages a kill caught with
	// their call marked started (reconciliation then settled them all).
	var caught, reported int64
	for _, n := range sendingAtKill {
		caught += n
	}
	for _, s := range servers[1:] {
		for _, m := range crashUnknownLog.FindAllStringSubmatch(s.stoppedLog(), -1) {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			reported += n
		}
	}
	// The restarts say so in their logs too (a cross-check that depends on
	// the wording of the warning, so only when it is found).
	if reported != caught && (reported > 0 || caught == 0) {
		t.Errorf("restarts reported %d messages marked unknown; kills caught %d in sending", reported, caught)
	} else if reported == 0 && caught > 0 {
		t.Logf("note: no restart log line %q found; the count is checked from the database only", crashUnknownLog)
	}
	if caught > int64(kills*delivery.SendBatch) {
		t.Logf("note: %d messages were caught in sending by %d kills, more than kills × delivery.SendBatch (%d): the sender has several batches in flight",
			caught, kills, kills*delivery.SendBatch)
	}
	found, resent := 0, 0
	for _, s := range servers {
		log := s.stoppedLog()
		found += strings.Count(log, "an interrupted message was found at the provider")
		resent += strings.Count(log, "an interrupted message is queued again")
	}
	t.Logf("%d contacts, %d kills in %s: statuses %v; %d marked unknown at the restarts of %d claimed at the kills (the rest queued again), then %d found at the provider and %d sent again; %d requests at the provider; %d event posts retried",
		contacts, kills, time.Since(start).Round(time.Millisecond), statuses, caught, claimedAtKill, found, resent, fake.Count(), retried.Load())
	for _, s := range servers {
		if log := s.stoppedLog(); strings.Contains(log, "panic") {
			t.Errorf("a server log mentions a panic:\n%s", log)
		}
	}
}

func crashAcked(acked []atomic.Bool) int {
	n := 0
	for i := range acked {
		if acked[i].Load() {
			n++
		}
	}
	return n
}
