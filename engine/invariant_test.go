package engine_test

// The randomized proof of the governance guarantees (issue 5, "Proof"): thousands of contacts across many zones and states, several
// competing flows, random events and replies (STOP/START/HELP/JOIN and
// ordinary text), random clock steps and downtime jumps across the March and
// November DST changes, driven through the real ingest writer, inbound
// keyword handling, engine and sender on a virtual clock, on both databases.
//
// Every invariant is checked independently of the engine's own decisions,
// from ground truth: the messages the provider actually received (with the
// virtual instant of each call), the consent ledger rows, and the test's own
// model of each contact (zones from libphonenumber or the explicit trait,
// state from the area code, windows from the state law):
//
//   - no flow message to a number that was not allowed it at the instant it
//     went out (unsubscribed: nothing but the STOP/HELP replies; marketing:
//     subscribed only);
//   - no flow message, and no opt-in confirmation, to a number after its
//     last opt-out unless the test itself made an explicit opt-in for it in
//     between (START/UNSTOP/JOIN by text, or a form/checkout opt-in with
//     evidence) — judged from the actions alone, so opt-ins dated minutes or
//     decades ahead (API and import rows) cannot hide a miss;
//   - no marketing message inside quiet hours in any of the contact's zones;
//   - no named cap, state cap (FL/OK/MD) or smart-sending window exceeded;
//   - at most one opt-out confirmation per opt-out and per 24 h per number,
//     and one for every opt-out that is not inside that 24 h;
//   - every deferred send ends sent, skipped or canceled (never parked), is
//     never retried before its "until", and never sent past max_deferral;
//   - no run step sent twice, nothing to a holdout, no timer left behind.
//
// How to run:
//
//	go test -race ./engine/ -run Invariant                    # CI size, SQLite (+ PostgreSQL when SMSFLOW_TEST_POSTGRES is set)
//	SMSFLOW_INVARIANT_SEED=42 go test ./engine/ -run Invariant -v   # another seed (the seed is logged; failures print it)
//	SMSFLOW_INVARIANT_CONTACTS=2000 go test ./engine/ -run Invariant -timeout 30m   # a bigger test run
//	go test ./engine/ -run '^$' -bench InvariantSimulation -benchtime 1x -timeout 90m  # the large size (20,000) as a benchmark
//
// Sizes are in contacts over the whole test (split 60/40 between the two
// variants). The CI size (250) keeps each database well under a minute with
// -race on a 2-core machine (about 40 s SQLite, 30 s PostgreSQL; the race
// detector slows the pure-Go SQLite about 13×). Without -race, 1,000
// contacts take about 7 s on SQLite and 90 s on PostgreSQL; the benchmark's
// 20,000 take minutes on SQLite and about half an hour on PostgreSQL.

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const (
	invSeedEnv       = "SMSFLOW_INVARIANT_SEED"
	invContactsEnv   = "SMSFLOW_INVARIANT_CONTACTS"
	invDefaultSeed   = 20260308
	invCIContacts    = 250
	invLargeContacts = 20000
)

// invVariant is one governance configuration the simulation runs under.
type invVariant struct {
	name        string
	share       float64 // of the contacts
	onQuiet     string
	onCap       string
	smart       time.Duration
	maxDeferral time.Duration
	doubleOptIn bool
	paced       *invPacing // a paced sender and STOP races (invariant_paced_test.go)
}

var invVariants = []invVariant{
	{name: "defer", share: 0.6, onQuiet: policy.OnQuietDefer, onCap: policy.OnCapSkip, maxDeferral: 24 * time.Hour},
	{name: "skip", share: 0.4, onQuiet: policy.OnQuietSkip, onCap: policy.OnCapDefer, smart: 2 * time.Hour, maxDeferral: 12 * time.Hour, doubleOptIn: true},
}

// invCap is a frequency cap as the oracle counts it (mirrors the config the
// engine gets, plus the statutory state cap).
type invCap struct {
	name       string
	max        int
	per        time.Duration
	categories []string
	states     []string // only contacts of these states; nil: everyone
}

var invCaps = []invCap{
	{name: "marketing-daily", max: 2, per: 24 * time.Hour, categories: []string{"lifecycle", "behavior", "promo"}},
	{name: "promo-weekly", max: 3, per: 7 * 24 * time.Hour, categories: []string{"promo"}},
	{name: "behavior-hourly", max: 1, per: time.Hour, categories: []string{"behavior"}},
}

// invStateCap is the statutory state cap: FL, OK and MD allow at most 3 marketing
// texts per 24 h.
var invStateCap = invCap{name: "state", max: 3, per: 24 * time.Hour, categories: []string{"lifecycle", "behavior", "promo"}, states: []string{"FL", "OK", "MD"}}

// invStateRule is a state's stricter window, written out
// here rather than read from policy's table, so a wrong table fails the test.
type invStateRule struct {
	start, end int // minutes after local midnight, [start, end)
	noSunday   bool
	noHolidays bool
}

var invStateRules = map[string]invStateRule{
	"FL": {8 * 60, 20 * 60, false, false}, "OK": {8 * 60, 20 * 60, false, false}, "MD": {8 * 60, 20 * 60, false, false},
	"WA": {8 * 60, 20 * 60, false, false}, "CT": {9 * 60, 20 * 60, false, false},
	"AL": {8 * 60, 20 * 60, true, true}, "LA": {8 * 60, 20 * 60, true, true}, "MS": {8 * 60, 20 * 60, true, false},
	"MA": {8 * 60, 20 * 60, false, false}, "MI": {9 * 60, 21 * 60, false, false}, "MN": {9 * 60, 21 * 60, false, false},
	"NM": {9 * 60, 21 * 60, false, false}, "NV": {9 * 60, 20 * 60, false, false}, "KY": {10 * 60, 21 * 60, false, false},
}

// invAreaCodes are the US area codes contacts get, with the state each
// belongs to. 775 (NV) and 907 (AK) map to two zones each.
var invAreaCodes = []struct {
	ac, state string
	weight    int
}{
	{"305", "FL", 4}, {"407", "FL", 3}, {"813", "FL", 3}, {"850", "FL", 3}, // 850: Central time
	{"405", "OK", 3}, {"918", "OK", 3}, {"301", "MD", 3}, {"410", "MD", 3},
	{"206", "WA", 2}, {"860", "CT", 2}, {"205", "AL", 2}, {"504", "LA", 2}, {"601", "MS", 2},
	{"617", "MA", 2}, {"313", "MI", 2}, {"612", "MN", 2}, {"505", "NM", 2}, {"702", "NV", 2},
	{"775", "NV", 3}, {"502", "KY", 2}, {"270", "KY", 2}, {"907", "AK", 3}, {"808", "HI", 2},
	{"602", "AZ", 2}, {"415", "CA", 3}, {"212", "NY", 3}, {"512", "TX", 2}, {"915", "TX", 2},
	{"312", "IL", 2}, {"303", "CO", 2}, {"208", "ID", 2}, {"404", "GA", 2},
}

// invForeign are number patterns outside the US states ("#" is a random digit).
var invForeign = []string{
	"+1604#######", "+1416#######", "+1787#######", // Canada, Puerto Rico
	"+447400######", "+614########", "+6421#######", "+49151########", "+919#########", "+55119########",
}

// invExplicitZones are the zones given as traits.timezone to some contacts.
var invExplicitZones = []string{"America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Kolkata", "Pacific/Honolulu", "America/Phoenix", "Australia/Perth", "America/Chicago"}

// invFlows are the competing flows, one per category and more.
var invFlows = map[string]struct {
	category string
	src      string
}{
	"shipping": {"service", `id: shipping
name: Shipping updates
category: service
trigger:
  event: Order Shipped
steps:
  - id: shipped
    send: "{{ brand.name }}: your order {{ event.properties.order_id | default: \"\" }} is on its way."
  - id: until-delivered
    wait: {event: Order Delivered, timeout: 3d}
  - if: '!timed_out'
    then:
      - id: delivered
        send: "{{ brand.name }}: your order was delivered."
`},
	"welcome": {"lifecycle", `id: welcome
name: Welcome
category: lifecycle
trigger:
  consent: subscribed
entry:
  reentry: 2d
steps:
  - id: hello
    send: "Welcome to {{ brand.name }}, {{ contact.traits.first_name | default: \"friend\" }}! Reply 1 for skincare, 2 for makeup."
  - id: answer
    wait: {reply: true, timeout: 1d}
  - switch:
      - when: 'timed_out'
        then:
          - exit: no_reply
      - when: 'reply.text == "1"'
        then:
          - id: skin
            send: "Skincare it is."
      - else:
          - id: other
            send: "Makeup it is."
`},
	"review": {"lifecycle", `id: review
name: Review request
category: lifecycle
priority: 70
trigger:
  event: Order Delivered
steps:
  - id: settle-in
    wait: 2d
  - id: evening
    wait: {until_local: "20:30"}
  - id: ask
    send: "How do you like your order? Reply with a rating from 1 to 5."
  - id: rating
    wait: {reply: true, timeout: 12h}
`},
	"cart": {"behavior", `id: cart
name: Cart recovery
category: behavior
priority: 60
trigger:
  event: Checkout Started
  where: 'double(event.properties.value) > 0'
entry:
  reentry: 1d
  unless: 'count("Order Completed", duration("24h")) > 0'
  holdout: 10%
exit:
  - event: Order Completed
goal:
  event: Order Completed
  within: 5d
steps:
  - id: grace
    wait: 60m
  - id: reminder
    send: "{{ brand.name }}: still thinking it over? {{ event.properties.checkout_url | track }}"
  - id: next-day
    wait: 24h
  - id: incentive
    send: "Here's 10% off to finish your order: {{ event.properties.checkout_url | track }}"
`},
	"browse": {"behavior", `id: browse
name: Browse abandonment
category: behavior
priority: 45
trigger:
  event: Product Viewed
entry:
  reentry: 12h
exit:
  - event: Checkout Started
steps:
  - id: linger
    wait: 30m
  - id: nudge
    send: "Still looking at {{ event.properties.name | default: \"that\" }}? It's waiting for you."
`},
	"vip": {"promo", `id: vip
name: VIP drop
category: promo
priority: 35
trigger:
  event: Drop Announced
entry:
  holdout: 5%
steps:
  - id: early
    send: "VIP early access starts now."
  - id: morning
    wait: {until_local: "07:30"}
  - id: closing
    send: "VIP access closes tonight."
`},
	"flash": {"promo", `id: flash
name: Flash sale
category: promo
priority: 30
trigger:
  event: Sale Started
exit:
  - event: Order Completed
steps:
  - id: announce
    send: "{{ brand.name }} flash sale: 20% off today only."
  - id: pause
    wait: 3h
  - id: last-call
    send: "Last call: the flash sale ends soon."
`},
}

// Reply bodies by what they mean (the carrier and CTIA keywords).
var (
	invStopBodies   = []string{"STOP", "stop", "Stop.", " STOP ", "UNSUBSCRIBE", "Cancel", "end", "QUIT", "revoke", "opt out", "OPTOUT", "STOPALL", "Arret"}
	invRevocations  = []string{"please stop texting me", "unsubscribe me", "remove me from this list"}
	invStartBodies  = []string{"START", "unstop"}
	invHelpBodies   = []string{"HELP", "info"}
	invJoinBodies   = []string{"JOIN", "join"}
	invYesBodies    = []string{"YES", "y"}
	invOrdinaryText = []string{"1", "2", "thanks!", "Love it", "what time do you open?", "ok", "5"}
)

// invDST are the DST changes the phases cross (US spring, EU autumn, US
// autumn); a downtime jump is forced across each.
var invDST = []time.Time{
	time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),
	time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC),
	time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
}

// invPhases are the simulated stretches, each with the share of contacts
// that arrive in it: around the March change (Sunday 8 March), then, after
// every timer in between has fired, around the autumn changes (EU 25
// October, US Sunday 1 November), then Veterans Day (11 November, a holiday
// for AL and LA).
var invPhases = []struct {
	from, to time.Time
	share    float64
}{
	{time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC), 0.4},
	{time.Date(2026, 10, 23, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 0.45},
	{time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC), time.Date(2026, 11, 12, 12, 0, 0, 0, time.UTC), 0.15},
}

func TestInvariantGovernanceSimulation(t *testing.T) {
	seed := invSeed(t)
	total := invContacts(t, invCIContacts)
	t.Logf("seed %d (override with %s), %d contacts (override with %s)", seed, invSeedEnv, total, invContactsEnv)
	for i, v := range invVariants {
		t.Run(v.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				start := time.Now()
				sim := newInvSim(t, db, v, seed+uint64(i)*7919, int(float64(total)*v.share))
				sim.run()
				sim.check()
				t.Logf("%s/%s: %d contacts, %d ticks, %s to %s in %s; %s", v.name, db.Dialect().Name(), len(sim.contacts), sim.ticks,
					invPhases[0].from.Format("2006-01-02"), sim.clock.Now().Format("2006-01-02"), time.Since(start).Round(time.Millisecond), sim.summary())
			})
		})
	}
}

// BenchmarkInvariantSimulation runs the large size (20,000 contacts, or
// SMSFLOW_INVARIANT_CONTACTS) on SQLite, and on PostgreSQL when
// SMSFLOW_TEST_POSTGRES is set, checking every invariant after each run.
func BenchmarkInvariantSimulation(b *testing.B) {
	seed := invSeed(b)
	total := invContacts(b, invLargeContacts)
	b.Logf("seed %d, %d contacts", seed, total)
	kinds := []string{"sqlite"}
	if os.Getenv(storetest.PostgresEnv) != "" {
		kinds = append(kinds, "postgres")
	}
	for _, kind := range kinds {
		b.Run(kind, func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				for i, v := range invVariants {
					b.StopTimer()
					db := invOpenDB(b, kind)
					b.StartTimer()
					sim := newInvSim(b, db, v, seed+uint64(i)*7919, int(float64(total)*v.share))
					sim.run()
					b.StopTimer()
					sim.check()
					b.Logf("%s/%s: %s", v.name, kind, sim.summary())
					b.StartTimer()
				}
			}
		})
	}
}

func invSeed(tb testing.TB) uint64 {
	if s := os.Getenv(invSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			tb.Fatalf("%s=%q: %v", invSeedEnv, s, err)
		}
		return v
	}
	return invDefaultSeed
}

func invContacts(tb testing.TB, def int) int {
	if s := os.Getenv(invContactsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 10 {
			tb.Fatalf("%s=%q: want a number of contacts ≥ 10", invContactsEnv, s)
		}
		return v
	}
	return def
}

// invOpenDB opens a fresh migrated database for a benchmark (storetest's
// helpers take a *testing.T).
func invOpenDB(tb testing.TB, kind string) *store.DB {
	dsn := "sqlite:" + filepath.Join(tb.TempDir(), "smsflow.db")
	if kind == "postgres" {
		base := os.Getenv(storetest.PostgresEnv)
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
		if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); admin.Close() })
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	db, err := store.Open(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

// invRecorder is the provider: it records every message it is handed, with
// the virtual instant of the call, and passes it to the console provider.
type invRecorder struct {
	inner provider.Provider
	clock *virtualClock
	mu    sync.Mutex
	sent  []invSent
}

type invSent struct {
	m  smsflow.Message
	at time.Time
}

func (r *invRecorder) Name() string { return r.inner.Name() }

func (r *invRecorder) Send(c context.Context, m *smsflow.Message) (provider.Result, error) {
	r.mu.Lock()
	r.sent = append(r.sent, invSent{m: *m, at: r.clock.Now()})
	r.mu.Unlock()
	return r.inner.Send(c, m)
}

// invContact is the test's own model of a contact: the ground truth the
// oracle checks against.
type invContact struct {
	id, phone string
	state     string   // from the area code; "" outside the US states
	zones     []string // where quiet hours apply: the explicit zone, else libphonenumber's
	explicit  string
	arrival   time.Time
	stranger  bool // only ever texts in; never identified
	active    bool // identified (or, for strangers, texted)
}

type invInbound struct {
	phone, body string
	at          time.Time
	optOut      bool   // what the body means, by the keyword lists
	keyword     string // what Inbound classified it as
}

type invFuture struct {
	at   time.Time
	c    *invContact
	kind string // track:<event>, inbound:<body>, consent:<source>
	prop map[string]any
}

type invSim struct {
	tb     testing.TB
	db     *store.DB
	v      invVariant
	seed   uint64
	rng    *rand.Rand
	clock  *virtualClock
	eng    *engine.Engine
	sender *delivery.Sender
	writer *ingest.Writer
	rec    *invRecorder
	opts   ingest.InboundOptions

	contacts   []*invContact // sorted by arrival
	strangers  []*invContact
	byPhone    map[string]*invContact
	arrived    int // contacts[:arrived] are identified
	future     []invFuture
	broadcasts []invFuture // sorted by time; kind is the event
	inbound    []invInbound
	touched    []*invContact // contacts given events this tick
	queued     bool          // the outbox may hold messages: run the sender (as Engine.OnQueued and a queued auto reply wake it in serve)
	dstDone    []bool
	seq        int
	ticks      int
	stats      map[string]int
	races      []invRace // STOPs committed while their number's messages waited for a slot

	// consentLog is every opt-in and opt-out the test made, in order: the
	// opt-out oracle's ground truth (checkOptOutsHold).
	consentLog []invConsentAct
}

func newInvSim(tb testing.TB, db *store.DB, v invVariant, seed uint64, n int) *invSim {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 4}))
	s := &invSim{tb: tb, db: db, v: v, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)),
		clock: &virtualClock{t: invPhases[0].from}, byPhone: map[string]*invContact{}, dstDone: make([]bool, len(invDST)), stats: map[string]int{}}
	now := s.clock.Now()
	cat := engine.NewCatalog(db)
	ids := make([]string, 0, len(invFlows))
	for id := range invFlows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, problems, err := cat.Save(ctx, id, []byte(invFlows[id].src), now); err != nil {
			tb.Fatalf("save flow %s: %v %v", id, err, problems)
		}
		if err := db.SetFlowStatus(ctx, id, engine.FlowActive, now); err != nil {
			tb.Fatal(err)
		}
	}
	if err := cat.Load(ctx); err != nil {
		tb.Fatal(err)
	}
	pol := policy.Default()
	pol.Quiet.OnQuiet = v.onQuiet
	pol.OnCap = v.onCap
	pol.SmartSending = v.smart
	pol.MaxDeferral = v.maxDeferral
	for _, c := range invCaps {
		pol.Caps = append(pol.Caps, policy.Cap{Name: c.name, Max: c.max, Per: c.per, Categories: c.categories})
	}
	if err := pol.Validate(); err != nil {
		tb.Fatal(err)
	}
	s.eng = engine.New(db, cat, s.clock, log, engine.Config{Brand: map[string]any{"name": "Glow"}, PublicURL: "https://sms.glow.example", Provider: "console", Policy: &pol})
	s.eng.OnQueued = func() { s.queued = true }
	s.rec = &invRecorder{inner: console.New(log), clock: s.clock}
	s.sender = delivery.NewSender(db, s.rec, s.clock, log)
	if v.paced != nil {
		s.pace(v.paced)
	}
	s.writer = ingest.NewWriter(db, s.clock, log)
	s.writer.Start()
	tb.Cleanup(s.writer.Stop)
	s.opts = ingest.InboundOptions{Region: "US", Provider: "console", Keywords: policy.DefaultKeywordConfig(), DoubleOptIn: v.doubleOptIn,
		BrandName: "Glow", HelpText: "Glow Beauty: help at glow.example/help or 1-800-555-0100. Msg & data rates may apply. Reply STOP to cancel.",
		SendConfirmations: true}
	s.makeContacts(n)
	// Two sales and a drop or two per phase, at random hours (night
	// included), after the phase's first quarter so that contacts are there.
	for _, ph := range invPhases {
		span := ph.to.Sub(ph.from)
		for _, kind := range []string{"Sale Started", "Sale Started", "Drop Announced", "Drop Announced"} {
			if kind == "Drop Announced" && s.rng.IntN(2) == 0 {
				continue
			}
			at := ph.from.Add(span/4 + time.Duration(s.rng.Float64()*0.75*float64(span)))
			s.broadcasts = append(s.broadcasts, invFuture{at: at, kind: kind})
		}
	}
	slices.SortStableFunc(s.broadcasts, func(a, b invFuture) int { return a.at.Compare(b.at) })
	return s
}

// makeContacts draws the population: numbers, zones, states, explicit
// zones and arrival times, and a few strangers who only text in.
func (s *invSim) makeContacts(n int) {
	totalWeight := 0
	for _, a := range invAreaCodes {
		totalWeight += a.weight
	}
	for i := 0; i < n+n/50+1; i++ {
		c := &invContact{}
		for attempt := 0; ; attempt++ {
			if attempt > 100 {
				s.tb.Fatal("could not draw a valid unused number")
			}
			var raw string
			if s.rng.Float64() < 0.88 {
				w := s.rng.IntN(totalWeight)
				for _, a := range invAreaCodes {
					if w -= a.weight; w < 0 {
						raw = fmt.Sprintf("+1%s%03d%04d", a.ac, 200+s.rng.IntN(800), s.rng.IntN(10000))
						c.state = a.state
						break
					}
				}
			} else {
				c.state = ""
				raw = invDigits(s.rng, invForeign[s.rng.IntN(len(invForeign))])
			}
			num, err := phone.Parse(raw, "US")
			if err != nil || s.byPhone[num.E164] != nil || num.Type == "fixed_line" {
				continue
			}
			c.phone = num.E164
			break
		}
		c.zones = invNumberZones(s.tb, c.phone)
		s.byPhone[c.phone] = c
		if i >= n {
			c.stranger, c.id = true, smsflow.ContactIDForPhone(c.phone)
			s.strangers = append(s.strangers, c)
			continue
		}
		c.id = fmt.Sprintf("c%05d", i)
		if s.rng.Float64() < 0.08 {
			c.explicit = invExplicitZones[s.rng.IntN(len(invExplicitZones))]
			c.zones = []string{c.explicit}
		}
		ph, r := invPhases[0], s.rng.Float64()
		for _, p := range invPhases {
			if ph = p; r < p.share {
				break
			}
			r -= p.share
		}
		c.arrival = ph.from.Add(time.Duration(s.rng.Float64() * 0.75 * float64(ph.to.Sub(ph.from))))
		s.contacts = append(s.contacts, c)
	}
	slices.SortStableFunc(s.contacts, func(a, b *invContact) int { return a.arrival.Compare(b.arrival) })
}

func invDigits(rng *rand.Rand, pattern string) string {
	b := []byte(pattern)
	for i := range b {
		if b[i] == '#' {
			b[i] = byte('0' + rng.IntN(10))
		}
	}
	return string(b)
}

// invNumberZones asks libphonenumber directly for a number's zones.
func invNumberZones(tb testing.TB, e164 string) []string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		tb.Fatal(err)
	}
	tzs, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, z := range tzs {
		if z != "" && z != phonenumbers.UNKNOWN_TIMEZONE {
			out = append(out, z)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s has no zone", e164)
	}
	return out
}

// --- driving the engine -----------------------------------------------------

// bump moves the clock one microsecond, so that every action (an event
// batch, an inbound text, a consent change) and every engine or sender round
// has an instant of its own and "the ledger at the send instant" is exact.
func (s *invSim) bump() { s.clock.Add(time.Microsecond) }

// settle runs the engine and the sender until neither has work left.
func (s *invSim) settle() {
	s.bump()
	for i := 0; ; i++ {
		if i > 100000 {
			s.tb.Fatal("engine did not settle")
		}
		n, err := s.engineRound()
		if err != nil {
			s.tb.Fatal(err)
		}
		m := 0
		if s.queued {
			if m, err = s.sender.SendOnce(ctx, invSendBatch); err != nil {
				s.tb.Fatal(err)
			}
			s.queued = s.moreToSend(m)
		}
		if n+m == 0 {
			return
		}
	}
}

// engineRound is RunOnce without the inactivity and segment passes, which
// no flow here uses (each is a transaction: they would double the run time
// under -race for nothing).
func (s *invSim) engineRound() (int, error) {
	n1, err := s.eng.ProcessInbox(ctx, engine.InboxBatch)
	if err != nil {
		return 0, err
	}
	n2, err := s.eng.ProcessDue(ctx, engine.DueBatch)
	return n1 + n2, err
}

func (s *invSim) engineOnly() {
	s.bump()
	for {
		n, err := s.engineRound()
		if err != nil {
			s.tb.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func (s *invSim) senderOnly() {
	s.bump()
	for {
		n, err := s.sender.SendOnce(ctx, invSendBatch)
		if err != nil {
			s.tb.Fatal(err)
		}
		if !s.moreToSend(n) {
			s.queued = false
			return
		}
	}
}

// invSendBatch is the sender's batch; a round that claims fewer has
// emptied the outbox.
const invSendBatch = 500

// advance moves the clock by d, stopping at every due timer on the way as a
// running server would, and settling there.
func (s *invSim) advance(d time.Duration) {
	end := s.clock.Now().Add(d)
	var last time.Time
	stuck := 0
	for {
		next, err := s.db.NextWake(ctx)
		if err != nil {
			s.tb.Fatal(err)
		}
		if next.IsZero() || next.After(end) {
			break
		}
		if next.Equal(last) && !next.After(s.clock.Now()) {
			if stuck++; stuck > 3 {
				s.tb.Fatalf("a timer due at %s never fires (clock %s)", next.Format(time.RFC3339Nano), s.clock.Now().Format(time.RFC3339Nano))
			}
		} else {
			stuck = 0
		}
		last = next
		if next.After(s.clock.Now()) {
			// A real loop wakes a little after the timer (PollInterval); a
			// random lateness also lets nearby timers fire together.
			wake := next.Add(time.Duration(s.rng.IntN(90_000)) * time.Millisecond)
			if wake.After(end) {
				wake = end
			}
			s.clock.Set(wake)
		}
		s.settle()
	}
	if end.After(s.clock.Now()) {
		s.clock.Set(end)
	}
	s.settle()
}

// downtime jumps the clock without stopping at timers (the server was down);
// late timers fire at once when it comes back.
func (s *invSim) downtime(d time.Duration) {
	s.clock.Add(d)
	s.stats["downtime jumps"]++
	s.settle()
}

func (s *invSim) run() {
	s.clock.Set(invPhases[0].from)
	for i, ph := range invPhases {
		if i > 0 {
			s.advance(ph.from.Sub(s.clock.Now()))
		}
		for s.clock.Now().Before(ph.to) {
			s.tick()
		}
	}
	// Far enough for every wait, deferral and timeout to resolve; then the
	// sender once more whatever it was told.
	s.advance(40 * 24 * time.Hour)
	s.queued = true
	s.settle()
}

// tick moves time on (a step through due timers, or now and then a downtime
// jump, always one across each DST change) and performs a random set of
// actions at the new time.
func (s *invSim) tick() {
	s.ticks++
	before := s.clock.Now()
	now := before
	forced := false
	for i, tr := range invDST {
		if !s.dstDone[i] && now.Before(tr) && now.Add(6*time.Hour).After(tr) {
			s.dstDone[i], forced = true, true
			s.downtime(tr.Sub(now) + time.Duration(30+s.rng.IntN(300))*time.Minute)
		}
	}
	switch {
	case forced:
	case s.rng.Float64() < 0.03:
		s.downtime(time.Duration(60+s.rng.IntN(19*60)) * time.Minute)
	default:
		s.advance(time.Duration(30+s.rng.IntN(180)) * time.Minute)
	}
	hours := s.clock.Now().Sub(before).Hours()
	s.touched = s.touched[:0]
	s.actions(hours)
	if s.rng.Float64() < 0.06 && len(s.touched) > 0 {
		// Sender lag: the engine queues, a few recipients text STOP before
		// the sender runs (its consent recheck must cancel their flow
		// messages), then the sender comes late (send_before must hold).
		s.stats["sender lags"]++
		s.engineOnly()
		for k := 0; k < 3; k++ {
			c := s.touched[s.rng.IntN(len(s.touched))]
			s.inboundText(c, invStopBodies[s.rng.IntN(len(invStopBodies))], true)
		}
		s.senderOnly()
		s.clock.Add(time.Duration(1+s.rng.IntN(70)) * time.Minute)
		s.senderOnly()
	}
	s.settle()
}

// actions performs one tick's random actions, each at its own instant.
func (s *invSim) actions(hours float64) {
	now := s.clock.Now()
	var items []*ingest.Item
	var fresh []*invContact
	for s.arrived < len(s.contacts) && !s.contacts[s.arrived].arrival.After(now) {
		c := s.contacts[s.arrived]
		s.arrived++
		c.active = true
		fresh = append(fresh, c)
		num, err := phone.Parse(c.phone, "US")
		if err != nil {
			s.tb.Fatal(err)
		}
		traits := map[string]any{"first_name": "Ana", "visit_count": s.rng.IntN(4)}
		it := &ingest.Item{Type: smsflow.EventIdentify, MessageID: "i-" + c.id, UserID: c.id, Phone: &num, Traits: traits}
		if c.explicit != "" {
			traits["timezone"] = c.explicit
			it.Timezone, it.TimezoneSource = c.explicit, "trait"
		}
		items = append(items, it)
	}
	s.submit(items)
	for _, c := range fresh {
		switch r := s.rng.Float64(); {
		case r < 0.55:
			s.consent(c, smsflow.ConsentSubscribed, smsflow.SourceWebForm)
		case r < 0.72:
			s.later(c, time.Duration(s.rng.IntN(6*60))*time.Minute, "inbound:"+invJoinBodies[s.rng.IntN(len(invJoinBodies))], nil)
		case r < 0.80:
			s.later(c, time.Duration(s.rng.IntN(48*60))*time.Minute, "consent:checkout", nil)
		}
	}

	// Random behaviour of everyone who has arrived, at rates per day: busy
	// in the three days after arriving, quiet after.
	p := hours / 24
	items = items[:0]
	for _, c := range s.contacts[:s.arrived] {
		r := s.rng.Float64()
		if now.Sub(c.arrival) > 72*time.Hour {
			r *= 12
		}
		switch {
		case r < 0.6*p:
			items = append(items, s.track(c, "Checkout Started", map[string]any{"value": float64(5 + s.rng.IntN(200)), "checkout_url": "https://glow.example/c/" + c.id}))
			if s.rng.Float64() < 0.4 {
				s.later(c, time.Duration(10+s.rng.IntN(30*60))*time.Minute, "track:Order Completed", nil)
			}
		case r < 1.3*p:
			items = append(items, s.track(c, "Product Viewed", map[string]any{"name": "Glow serum"}))
		case r < 1.45*p:
			items = append(items, s.order(c))
		case r < 1.9*p:
			s.later(c, time.Duration(s.rng.IntN(60))*time.Minute, "inbound:"+s.replyBody(), nil)
		case r < 1.91*p:
			s.later(c, 0, "consent:api-unsubscribe", nil)
		case r < 1.92*p:
			s.later(c, 0, "consent:import", nil)
		case r < 1.94*p:
			s.later(c, 0, "consent:web_form", nil)
		case r < 2.09*p:
			s.later(c, 0, "consent:future", nil)
		}
	}
	// Broadcasts: a sale or a drop to a random 15% of everyone, at whatever
	// hour it was scheduled for.
	for len(s.broadcasts) > 0 && !s.broadcasts[0].at.After(now) {
		b := s.broadcasts[0]
		s.broadcasts = s.broadcasts[1:]
		s.stats["broadcast "+b.kind]++
		for _, c := range s.contacts[:s.arrived] {
			if s.rng.Float64() < 0.15 {
				items = append(items, s.track(c, b.kind, map[string]any{"campaign": s.seq}))
			}
		}
	}
	// Scheduled follow-ups that are due.
	var due []invFuture
	keep := s.future[:0]
	for _, f := range s.future {
		if f.at.After(now) {
			keep = append(keep, f)
		} else {
			due = append(due, f)
		}
	}
	s.future = keep
	slices.SortStableFunc(due, func(a, b invFuture) int { return a.at.Compare(b.at) })
	var later []invFuture
	for _, f := range due {
		if kind, ok := strings.CutPrefix(f.kind, "track:"); ok {
			switch kind {
			case "Order Completed":
				items = append(items, s.order(f.c))
			default:
				items = append(items, s.track(f.c, kind, f.prop))
				if kind == "Order Shipped" && s.rng.Float64() < 0.85 {
					s.later(f.c, time.Duration(24+s.rng.IntN(48))*time.Hour, "track:Order Delivered", f.prop)
				}
			}
			continue
		}
		later = append(later, f)
	}
	s.submit(items)
	for _, f := range later {
		if body, ok := strings.CutPrefix(f.kind, "inbound:"); ok {
			s.inboundText(f.c, body, false)
			continue
		}
		switch f.kind {
		case "consent:checkout":
			s.consent(f.c, smsflow.ConsentSubscribed, smsflow.SourceCheckout)
		case "consent:web_form":
			s.consent(f.c, smsflow.ConsentSubscribed, smsflow.SourceWebForm)
		case "consent:import":
			s.consent(f.c, smsflow.ConsentSubscribed, smsflow.SourceImport)
		case "consent:api-unsubscribe":
			s.consent(f.c, smsflow.ConsentUnsubscribed, smsflow.SourceAPI)
		case "consent:future":
			s.futureOptIn(f.c)
		}
	}
	// Strangers text in now and then.
	if s.rng.Float64() < 0.5*p*float64(len(s.strangers)) {
		c := s.strangers[s.rng.IntN(len(s.strangers))]
		c.active = true
		bodies := [][]string{invStopBodies, invHelpBodies, invJoinBodies, invOrdinaryText}
		set := bodies[s.rng.IntN(len(bodies))]
		s.inboundText(c, set[s.rng.IntN(len(set))], false)
	}
}

func (s *invSim) track(c *invContact, name string, props map[string]any) *ingest.Item {
	s.seq++
	s.touched = append(s.touched, c)
	return &ingest.Item{Type: smsflow.EventTrack, MessageID: "t" + strconv.Itoa(s.seq), UserID: c.id, Name: name, Properties: props}
}

func (s *invSim) order(c *invContact) *ingest.Item {
	it := s.track(c, "Order Completed", map[string]any{"order_id": "o" + strconv.Itoa(s.seq+1), "revenue": float64(10 + s.rng.IntN(300))})
	if s.rng.Float64() < 0.8 {
		s.later(c, time.Duration(2+s.rng.IntN(28))*time.Hour, "track:Order Shipped", map[string]any{"order_id": it.Properties["order_id"]})
	}
	return it
}

func (s *invSim) later(c *invContact, d time.Duration, kind string, prop map[string]any) {
	s.future = append(s.future, invFuture{at: s.clock.Now().Add(d), c: c, kind: kind, prop: prop})
}

func (s *invSim) submit(items []*ingest.Item) {
	if len(items) == 0 {
		return
	}
	s.bump()
	now := s.clock.Now()
	for _, it := range items {
		it.Timestamp, it.ReceivedAt = now, now
	}
	res, err := s.writer.Submit(ctx, items)
	if err != nil {
		s.tb.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			s.tb.Fatalf("item %d (%s %s): %v", i, items[i].Type, items[i].Name, r.Err)
		}
	}
	s.stats["events"] += len(items)
}

// replyBody draws a reply: mostly ordinary text, often a keyword.
func (s *invSim) replyBody() string {
	sets := []struct {
		bodies []string
		weight int
	}{{invOrdinaryText, 35}, {invStopBodies, 25}, {invRevocations, 5}, {invStartBodies, 10}, {invHelpBodies, 10}, {invJoinBodies, 10}, {invYesBodies, 5}}
	w := s.rng.IntN(100)
	for _, set := range sets {
		if w -= set.weight; w < 0 {
			return set.bodies[s.rng.IntN(len(set.bodies))]
		}
	}
	return "ok"
}

// inboundText delivers a text from c through ingest.Inbound, as a provider
// webhook would, and schedules what people do after a STOP.
func (s *invSim) inboundText(c *invContact, body string, lag bool) {
	s.bump()
	optOut := slices.Contains(invStopBodies, body) || slices.Contains(invRevocations, body)
	res, err := ingest.Inbound(ctx, s.db, s.clock, c.phone, body, s.opts)
	if err != nil {
		s.tb.Fatalf("inbound %q from %s: %v", body, c.phone, err)
	}
	if res.ReplyMessageID != 0 {
		s.queued = true
	}
	s.inbound = append(s.inbound, invInbound{phone: c.phone, body: body, at: s.clock.Now(), optOut: optOut, keyword: res.Keyword})
	switch {
	case optOut:
		s.consentLog = append(s.consentLog, invConsentAct{phone: c.phone, at: s.clock.Now(), optOut: true, what: "text " + body})
	case slices.Contains(invStartBodies, body) || slices.Contains(invJoinBodies, body):
		s.consentLog = append(s.consentLog, invConsentAct{phone: c.phone, at: s.clock.Now(), explicit: true, what: "text " + body})
	}
	s.stats["inbound"]++
	if optOut {
		s.stats["inbound opt-outs"]++
		if lag {
			s.stats["opt-outs before the sender ran"]++
		}
		switch r := s.rng.Float64(); {
		case r < 0.35: // says it again, often within the day
			s.later(c, time.Duration(30+s.rng.IntN(30*60))*time.Minute, "inbound:"+invStopBodies[s.rng.IntN(len(invStopBodies))], nil)
		case r < 0.6:
			s.later(c, time.Duration(60+s.rng.IntN(72*60))*time.Minute, "inbound:"+invStartBodies[s.rng.IntN(len(invStartBodies))], nil)
		case r < 0.7:
			s.later(c, time.Duration(60+s.rng.IntN(72*60))*time.Minute, "consent:web_form", nil)
		}
	}
}

func (s *invSim) consent(c *invContact, status smsflow.ConsentStatus, source smsflow.ConsentSource) {
	s.consentAt(c, status, source, time.Time{})
}

// consentAt records a consent change through the API path claiming the
// time claimed (zero: now), logs it for the opt-out oracle and, when it
// left the number pending (double opt-in) with a request queued, has the
// person answer Y now and then.
func (s *invSim) consentAt(c *invContact, status smsflow.ConsentStatus, source smsflow.ConsentSource, claimed time.Time) {
	s.bump()
	ch := ingest.ConsentChange{Status: status, Source: source, Timestamp: claimed}
	if source == smsflow.SourceWebForm || source == smsflow.SourceCheckout {
		ch.Evidence = map[string]any{"url": "https://glow.example/join", "ip": "203.0.113.7"}
	}
	what := fmt.Sprintf("API %s by %s", status, source)
	if !claimed.IsZero() {
		what += " claiming " + claimed.Format(time.RFC3339)
	}
	s.consentLog = append(s.consentLog, invConsentAct{phone: c.phone, at: s.clock.Now(), optOut: status == smsflow.ConsentUnsubscribed,
		explicit: status != smsflow.ConsentUnsubscribed && len(ch.Evidence) > 0, what: what})
	res, err := ingest.RecordConsent(ctx, s.db, s.clock, c.id, ch, ingest.OptInOptions{DoubleOptIn: s.v.doubleOptIn, BrandName: "Glow"})
	if err != nil {
		if smsflow.ErrorCode(err) != smsflow.ECONFLICT {
			s.tb.Fatalf("consent %s %s for %s: %v", status, source, c.id, err)
		}
		s.stats["consent changes refused"]++
		return
	}
	s.stats["consent "+string(source)+" "+string(res.Entry.Status)]++
	if res.Confirmation != nil && res.Confirmation.Queued {
		s.queued = true
		s.stats["double opt-in requests"]++
		if s.rng.Float64() < 0.7 {
			s.later(c, time.Duration(1+s.rng.IntN(120))*time.Minute, "inbound:"+invYesBodies[s.rng.IntN(len(invYesBodies))], nil)
		}
	}
}

// --- the oracle ------------------------------------------------------------

type invMsg struct {
	id                     int64
	runID                  int64
	step, flow, contact    string
	phone, status, errCode string
	category               string
	created                time.Time
}

type invDecision struct {
	id                 int64
	runID              int64
	step, flow, reason string
	at                 time.Time
}

type invRun struct {
	id            int64
	flow, contact string
	status, exit  string
	holdout       bool
	wake          bool
	ended         time.Time
}

// invViolations collects broken invariants, a few examples each.
type invViolations struct {
	count    map[string]int
	examples map[string][]string
}

func (v *invViolations) add(invariant, format string, args ...any) {
	if v.count == nil {
		v.count, v.examples = map[string]int{}, map[string][]string{}
	}
	v.count[invariant]++
	if len(v.examples[invariant]) < 5 {
		v.examples[invariant] = append(v.examples[invariant], fmt.Sprintf(format, args...))
	}
}

func (s *invSim) check() {
	tb := s.tb
	msgs := s.loadMessages()
	decisions := s.loadDecisions()
	runs := s.loadRuns()
	byID := map[int64]*invMsg{}
	for _, m := range msgs {
		byID[m.id] = m
	}
	var bad invViolations

	// Ground truth of what went out: the provider's record.
	s.rec.mu.Lock()
	sent := append([]invSent(nil), s.rec.sent...)
	s.rec.mu.Unlock()
	seenMsg := map[int64]bool{}
	seenStep := map[string]bool{}
	for _, x := range sent {
		if seenMsg[x.m.ID] {
			bad.add("provider got a message twice", "message %d to %s", x.m.ID, x.m.Phone)
		}
		seenMsg[x.m.ID] = true
		if x.m.RunID != 0 {
			key := fmt.Sprintf("%d/%s", x.m.RunID, x.m.StepID)
			if seenStep[key] {
				bad.add("a run step sent twice", "run %d step %s", x.m.RunID, x.m.StepID)
			}
			seenStep[key] = true
			if r := runs[x.m.RunID]; r != nil && r.holdout {
				bad.add("a holdout run's message sent", "run %d flow %s contact %s", r.id, r.flow, r.contact)
			}
		}
		if row := byID[x.m.ID]; row == nil || row.status != smsflow.MessageDelivered {
			bad.add("provider send not recorded as delivered", "message %d: %+v", x.m.ID, row)
		}
		if s.byPhone[x.m.Phone] == nil {
			bad.add("send to a number nobody has", "%s", x.m.Phone)
		}
	}
	delivered := 0
	for _, m := range msgs {
		if m.status == smsflow.MessageDelivered || m.status == smsflow.MessageSent {
			delivered++
		}
		if m.status == smsflow.MessageQueued || m.status == smsflow.MessageSending || m.status == smsflow.MessageUnknown {
			bad.add("message left in the outbox", "message %d %s/%s to %s: %s", m.id, m.flow, m.step, m.contact, m.status)
		}
	}
	if delivered != len(sent) {
		bad.add("delivered rows differ from provider calls", "%d rows, %d provider calls", delivered, len(sent))
	}

	// 1. Consent at the instant each message reached the provider, from the
	// ledger rows.
	ledgers := map[string][]smsflow.ConsentEntry{}
	for ph := range s.byPhone {
		l, err := s.db.ConsentLedger(ctx, ph)
		if err != nil {
			tb.Fatal(err)
		}
		ledgers[ph] = l.Ledger
	}
	statusAt := func(ph string, at time.Time) smsflow.ConsentStatus {
		st := smsflow.ConsentNone
		var best *smsflow.ConsentEntry
		for i := range ledgers[ph] {
			e := &ledgers[ph][i]
			if e.RecordedAt.After(at) {
				continue
			}
			if best == nil || e.ID > best.ID { // the ledger's order is the order of recording
				best = e
			}
		}
		if best != nil {
			st = best.Status
		}
		return st
	}
	for _, x := range sent {
		for _, e := range ledgers[x.m.Phone] {
			if e.OccurredAt.Equal(x.at) || e.RecordedAt.Equal(x.at) {
				bad.add("test ambiguity: ledger entry at a send instant", "%s at %s", x.m.Phone, x.at)
			}
		}
		st := statusAt(x.m.Phone, x.at)
		if x.m.RunID != 0 {
			cat := invFlows[x.m.FlowID].category
			if cat == "" {
				bad.add("message from an unknown flow", "%s", x.m.FlowID)
			}
			switch {
			case st == smsflow.ConsentUnsubscribed:
				bad.add("flow message to an unsubscribed number", "%s %s/%s at %s (ledger %s)", x.m.Phone, x.m.FlowID, x.m.StepID, x.at.Format(time.RFC3339Nano), invLedger(ledgers[x.m.Phone]))
			case cat != "service" && st != smsflow.ConsentSubscribed:
				bad.add("marketing message to a number not subscribed", "%s %s/%s at %s: %s (ledger %s)", x.m.Phone, x.m.FlowID, x.m.StepID, x.at.Format(time.RFC3339Nano), st, invLedger(ledgers[x.m.Phone]))
			}
			continue
		}
		switch x.m.StepID {
		case "keyword:stop", "keyword:help":
		case "keyword:start", "keyword:join", "keyword:confirm", policy.DoubleOptInRequestStep:
			if st != smsflow.ConsentSubscribed && st != smsflow.ConsentPending {
				bad.add("opt-in confirmation to a number not opted in", "%s %s at %s: %s", x.m.Phone, x.m.StepID, x.at, st)
			}
		default:
			bad.add("unexpected automatic message", "%s %q", x.m.StepID, x.m.Body)
		}
	}

	// 1b. After an opt-out, only an explicit opt-in lets anything but the
	// STOP/HELP replies through (from the test's own actions).
	s.checkOptOutsHold(sent, &bad)

	// 2. Quiet hours, recomputed in every zone of the contact.
	for _, x := range sent {
		if x.m.RunID == 0 || invFlows[x.m.FlowID].category == "service" {
			continue
		}
		c := s.byPhone[x.m.Phone]
		if c == nil {
			continue
		}
		if ok, why := invQuietAllows(x.at, c); !ok {
			bad.add("marketing message in quiet hours", "%s (%s, zones %v) %s/%s at %s: %s", c.id, c.state, c.zones, x.m.FlowID, x.m.StepID, x.at.UTC().Format(time.RFC3339), why)
		}
	}

	// 3. Caps: in every window of each cap's length, on the queue instant the
	// engine counts and (reported apart) on the provider instant.
	byContact := map[string][]invSent{}
	for _, x := range sent {
		if x.m.RunID != 0 {
			byContact[x.m.ContactID] = append(byContact[x.m.ContactID], x)
		}
	}
	caps := append(slices.Clone(invCaps), invStateCap)
	for cid, xs := range byContact {
		c := s.byPhone[xs[0].m.Phone]
		for _, cp := range caps {
			if cp.states != nil && (c == nil || !slices.Contains(cp.states, c.state)) {
				continue
			}
			var queuedAt, sentAt []time.Time
			for _, x := range xs {
				if slices.Contains(cp.categories, invFlows[x.m.FlowID].category) {
					queuedAt = append(queuedAt, x.m.CreatedAt)
					sentAt = append(sentAt, x.at)
				}
			}
			if at, n := invWindowMax(queuedAt, cp.per); n > cp.max {
				bad.add("cap exceeded", "%s cap %s: %d messages in the %s window ending %s", cid, cp.name, n, cp.per, at.Format(time.RFC3339))
			}
			if _, n := invWindowMax(sentAt, cp.per); n > cp.max {
				s.stats["cap windows exceeded on provider instants (sender lag)"]++
			}
		}
	}

	// 3b. Smart sending: no marketing message when any SMS was queued to the
	// contact in the preceding window (the same flow's message of the same
	// instant excepted).
	if s.v.smart > 0 {
		all := map[string][]invSent{}
		for _, x := range sent {
			all[x.m.ContactID] = append(all[x.m.ContactID], x)
		}
		for cid, xs := range all {
			for _, x := range xs {
				if x.m.RunID == 0 || invFlows[x.m.FlowID].category == "service" {
					continue
				}
				for _, y := range xs {
					if y.m.ID >= x.m.ID || !y.m.CreatedAt.After(x.m.CreatedAt.Add(-s.v.smart)) || y.m.CreatedAt.After(x.m.CreatedAt) {
						continue
					}
					if y.m.FlowID == x.m.FlowID && y.m.CreatedAt.Equal(x.m.CreatedAt) {
						continue
					}
					bad.add("smart sending window not honored", "%s: %s/%s at %s after %s/%s at %s", cid, x.m.FlowID, x.m.StepID, x.m.CreatedAt.Format(time.RFC3339), y.m.FlowID, y.m.StepID, y.m.CreatedAt.Format(time.RFC3339))
				}
			}
		}
	}

	// 4. Opt-out confirmations: at most one per opt-out and per 24 h, and
	// one for every opt-out outside that 24 h.
	optOutsAt := map[string][]time.Time{}
	for _, in := range s.inbound {
		isOptOut := in.keyword == string(policy.KeywordStop) || in.keyword == string(policy.KeywordRevocation)
		if isOptOut != in.optOut {
			bad.add("keyword misclassified", "%q classified %q", in.body, in.keyword)
		}
		if in.optOut {
			optOutsAt[in.phone] = append(optOutsAt[in.phone], in.at)
		}
	}
	confRows := map[string][]*invMsg{}
	for _, m := range msgs {
		if m.runID == 0 && m.step == "keyword:stop" {
			confRows[m.phone] = append(confRows[m.phone], m)
		}
	}
	confSent := map[string][]invSent{}
	for _, x := range sent {
		if x.m.RunID == 0 && x.m.StepID == "keyword:stop" {
			confSent[x.m.Phone] = append(confSent[x.m.Phone], x)
		}
	}
	for ph, xs := range confSent {
		for i, x := range xs {
			if !slices.ContainsFunc(optOutsAt[ph], x.m.CreatedAt.Equal) {
				bad.add("opt-out confirmation without an opt-out", "%s at %s", ph, x.m.CreatedAt)
			}
			if i > 0 && x.m.CreatedAt.Sub(xs[i-1].m.CreatedAt) < 24*time.Hour {
				bad.add("two opt-out confirmations within 24 h", "%s at %s and %s", ph, xs[i-1].m.CreatedAt.Format(time.RFC3339), x.m.CreatedAt.Format(time.RFC3339))
			}
			if i > 0 && x.at.Sub(xs[i-1].at) < 24*time.Hour {
				s.stats["confirmations < 24 h apart on provider instants (sender lag)"]++
			}
			if x.at.Sub(x.m.CreatedAt) > 5*time.Minute {
				s.stats["confirmations later than 5 min (sender lag)"]++
			}
		}
		s.stats["opt-out confirmations sent"] += len(xs)
	}
	for ph, ats := range optOutsAt {
		for _, at := range ats {
			covered := slices.ContainsFunc(confRows[ph], func(m *invMsg) bool {
				return m.status != smsflow.MessageCanceled && m.created.Before(at) && at.Sub(m.created) < 24*time.Hour
			})
			if covered {
				continue
			}
			i := slices.IndexFunc(confRows[ph], func(m *invMsg) bool { return m.created.Equal(at) })
			switch {
			case i < 0:
				bad.add("opt-out without a confirmation", "%s at %s", ph, at.Format(time.RFC3339Nano))
			case confRows[ph][i].status == smsflow.MessageCanceled && confRows[ph][i].errCode == "expired:send_before":
				s.stats["opt-out confirmations expired (sender lag)"]++
			case confRows[ph][i].status != smsflow.MessageDelivered:
				bad.add("opt-out confirmation not sent", "%s at %s: %s %s", ph, at, confRows[ph][i].status, confRows[ph][i].errCode)
			}
		}
	}

	// 5. Deferrals: every one resolved, none retried early, none sent past
	// max_deferral.
	type key struct {
		run  int64
		step string
	}
	groups := map[key][]*invDecision{}
	for _, d := range decisions {
		if d.runID != 0 && d.step != "entry" {
			k := key{d.runID, d.step}
			groups[k] = append(groups[k], d)
		}
	}
	for k, ds := range groups {
		first := -1
		for i, d := range ds {
			if strings.HasPrefix(d.reason, "deferred:") {
				if first < 0 {
					first = i
				}
				until, err := invUntil(d.reason)
				if err != nil {
					bad.add("deferral without until", "%s: %v", d.reason, err)
					continue
				}
				if i+1 < len(ds) && !strings.HasPrefix(ds[i+1].reason, "canceled:") && ds[i+1].at.Before(until) {
					bad.add("deferred send retried before its until", "run %d %s/%s deferred until %s, retried at %s (%s)", k.run, d.flow, k.step, until.Format(time.RFC3339), ds[i+1].at.Format(time.RFC3339), ds[i+1].reason)
				}
			}
		}
		if first < 0 {
			continue
		}
		s.stats["deferred sends"]++
		last := ds[len(ds)-1]
		r := runs[k.run]
		switch {
		case strings.HasPrefix(last.reason, "deferred:"):
			if r == nil || r.status != smsflow.RunExited || r.ended.Before(last.at) {
				bad.add("deferred send never resolved", "run %d %s/%s last %s at %s; run %+v", k.run, last.flow, k.step, last.reason, last.at.Format(time.RFC3339), r)
			} else {
				s.stats["deferred → canceled ("+r.exit+")"]++
			}
		case last.reason == smsflow.DecisionSent:
			s.stats["deferred → sent"]++
			if held := last.at.Sub(ds[first].at); held > s.v.maxDeferral {
				bad.add("deferred send sent past max_deferral", "run %d %s/%s first deferred %s, sent %s (held %s)", k.run, last.flow, k.step, ds[first].at.Format(time.RFC3339), last.at.Format(time.RFC3339), held)
			}
		default:
			s.stats["deferred → "+invReasonClass(last.reason)]++
		}
	}

	// 6. Nothing left behind.
	for _, r := range runs {
		if r.status == smsflow.RunActive || r.status == smsflow.RunWaiting || r.wake {
			bad.add("run left open after the drain", "run %d %s/%s: %s wake=%v", r.id, r.flow, r.contact, r.status, r.wake)
		}
	}
	if n, err := s.db.InboxDepth(ctx); err != nil || n != 0 {
		bad.add("events left in the engine's inbox", "%d (%v)", n, err)
	}

	// Stats.
	for _, x := range sent {
		cat := "auto-reply"
		if x.m.RunID != 0 {
			cat = invFlows[x.m.FlowID].category
		}
		s.stats["sent "+cat]++
	}
	for _, d := range decisions {
		s.stats["decision "+invReasonClass(d.reason)]++
	}

	if len(bad.count) == 0 {
		return
	}
	names := make([]string, 0, len(bad.count))
	for n := range bad.count {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "invariants broken (variant %s, seed %d; reproduce with %s=%d):\n", s.v.name, s.seed, invSeedEnv, invSeed(tb))
	for _, n := range names {
		fmt.Fprintf(&b, "  %s: %d\n", n, bad.count[n])
		for _, ex := range bad.examples[n] {
			fmt.Fprintf(&b, "      %s\n", ex)
		}
	}
	tb.Error(b.String())
}

// invQuietAllows is the quiet-hours law at one instant, in every zone of the
// contact: the federal 08:00–21:00 narrowed by the state's window, Sundays
// and holidays.
func invQuietAllows(at time.Time, c *invContact) (bool, string) {
	start, end := 8*60, 21*60
	rule, strict := invStateRules[c.state]
	if strict {
		start, end = max(start, rule.start), min(end, rule.end)
	}
	for _, z := range c.zones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			return false, err.Error()
		}
		l := at.In(loc)
		sec := l.Hour()*3600 + l.Minute()*60 + l.Second()
		where := fmt.Sprintf("%s local %s", z, l.Format("Mon 2006-01-02 15:04:05 MST"))
		if sec < start*60 || sec >= end*60 {
			return false, where + " is outside " + fmt.Sprintf("%02d:%02d-%02d:%02d", start/60, start%60, end/60, end%60)
		}
		if strict && rule.noSunday && l.Weekday() == time.Sunday {
			return false, where + " is a Sunday"
		}
		if strict && rule.noHolidays {
			if name, hol := policy.IsHoliday(c.state, smsflow.DateOf(l)); hol {
				return false, where + " is " + name
			}
		}
	}
	return true, ""
}

// invWindowMax returns the most instants within any window (t-per, t] and
// the t where that happens.
func invWindowMax(ts []time.Time, per time.Duration) (time.Time, int) {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, at := 0, time.Time{}
	lo := 0
	for hi := range ts {
		for !ts[lo].After(ts[hi].Add(-per)) {
			lo++
		}
		if n := hi - lo + 1; n > best {
			best, at = n, ts[hi]
		}
	}
	return at, best
}

func invUntil(reason string) (time.Time, error) {
	_, rest, ok := strings.Cut(reason, "(until=")
	if !ok {
		return time.Time{}, fmt.Errorf("no until")
	}
	return time.Parse(time.RFC3339, strings.TrimSuffix(rest, ")"))
}

// invReasonClass strips a decision's parameters: "skipped:cap(rule=x)" →
// "skipped:cap(rule=x)" for caps (the rule matters), "deferred:quiet_hours".
func invReasonClass(r string) string {
	if strings.HasPrefix(r, "deferred:") || strings.HasPrefix(r, "skipped:collision") || strings.HasPrefix(r, "error:") {
		if i := strings.IndexByte(r, '('); i > 0 {
			return r[:i]
		}
	}
	return r
}

func invLedger(l []smsflow.ConsentEntry) string {
	var parts []string
	for _, e := range l {
		parts = append(parts, fmt.Sprintf("%s:%s@%s", e.Status, e.Source, e.OccurredAt.Format("01-02T15:04:05.000000")))
	}
	return strings.Join(parts, " ")
}

func (s *invSim) summary() string {
	keys := make([]string, 0, len(s.stats))
	for k := range s.stats {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, s.stats[k]))
	}
	return strings.Join(parts, ", ")
}

func (s *invSim) loadMessages() []*invMsg {
	rows, err := s.db.ReadQuery(ctx, `SELECT id, run_id, step_id, flow_id, contact_id, phone, status, error_code, category, created_at FROM messages WHERE direction = 'out' ORDER BY id`)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer rows.Close()
	var out []*invMsg
	for rows.Next() {
		var m invMsg
		var run sql.NullInt64
		var step sql.NullString
		var created int64
		if err := rows.Scan(&m.id, &run, &step, &m.flow, &m.contact, &m.phone, &m.status, &m.errCode, &m.category, &created); err != nil {
			s.tb.Fatal(err)
		}
		m.runID, m.step, m.created = run.Int64, step.String, time.UnixMicro(created).UTC()
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		s.tb.Fatal(err)
	}
	return out
}

func (s *invSim) loadDecisions() []*invDecision {
	rows, err := s.db.ReadQuery(ctx, `SELECT id, run_id, step_id, flow_id, reason, at FROM decisions ORDER BY id`)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer rows.Close()
	var out []*invDecision
	for rows.Next() {
		var d invDecision
		var at int64
		if err := rows.Scan(&d.id, &d.runID, &d.step, &d.flow, &d.reason, &at); err != nil {
			s.tb.Fatal(err)
		}
		d.at = time.UnixMicro(at).UTC()
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		s.tb.Fatal(err)
	}
	return out
}

func (s *invSim) loadRuns() map[int64]*invRun {
	rows, err := s.db.ReadQuery(ctx, `SELECT id, flow_id, contact_id, status, exit_reason, holdout, wake_at, ended_at FROM runs`)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]*invRun{}
	for rows.Next() {
		var r invRun
		var wake sql.NullInt64
		var ended int64
		var holdout any
		if err := rows.Scan(&r.id, &r.flow, &r.contact, &r.status, &r.exit, &holdout, &wake, &ended); err != nil {
			s.tb.Fatal(err)
		}
		switch h := holdout.(type) {
		case bool:
			r.holdout = h
		case int64:
			r.holdout = h != 0
		}
		r.wake, r.ended = wake.Valid, time.UnixMicro(ended).UTC()
		out[r.id] = &r
	}
	if err := rows.Err(); err != nil {
		s.tb.Fatal(err)
	}
	return out
}

// TestInvariantOptInReplyCanceledByStop is the case the simulation found: a
// JOIN or START confirmation still in the outbox when the number texts STOP
// must not go out after the STOP; the STOP confirmation must.
func TestInvariantOptInReplyCanceledByStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		opts := ingest.InboundOptions{Region: "US", Provider: "console", Keywords: policy.DefaultKeywordConfig(), BrandName: "Glow", SendConfirmations: true}
		text := func(body string) {
			w.clock.Add(time.Second)
			if _, err := ingest.Inbound(ctx, db, w.clock, "+14155550100", body, opts); err != nil {
				t.Fatal(err)
			}
		}
		text("JOIN")
		text("STOP") // before the sender has run
		w.settle()
		w.clock.Add(25 * time.Hour) // a new opt-out confirmation is due
		text("START")
		text("STOP")
		w.settle()
		var steps []string
		for _, m := range w.cons.Recent() {
			steps = append(steps, m.StepID)
		}
		if got, want := strings.Join(steps, ","), "keyword:stop,keyword:stop"; got != want {
			t.Errorf("sent %s, want %s", got, want)
		}
	})
}

// --- future-dated opt-ins and the opt-out rule ---------------------------

// invConsentAct is one opt-in or opt-out the test made, as the test knows
// it: when, and whether it is an opt-in the ledger's rule lets undo an
// opt-out (an explicit one: START/UNSTOP/JOIN by text, or a form or
// checkout opt-in with evidence, which the simulation always dates no
// earlier than its receipt after clamping). Imports, opt-ins without
// evidence and Y replies are not explicit (a Y only confirms what an
// explicit opt-in started).
type invConsentAct struct {
	phone    string
	at       time.Time
	optOut   bool
	explicit bool
	what     string
}

// futureOptIn is an opt-in that claims a time ahead of its receipt — an API
// form opt-in a few minutes ahead (accepted), or an import row dated
// minutes ahead or 2099 — usually followed within minutes by the person's
// STOP and then a sale that would text them if the opt-in still counted.
func (s *invSim) futureOptIn(c *invContact) {
	now := s.clock.Now()
	switch r := s.rng.Float64(); {
	case r < 0.5:
		s.stats["future-dated opt-ins API minutes ahead"]++
		s.consentAt(c, smsflow.ConsentSubscribed, smsflow.SourceWebForm, now.Add(time.Duration(30+s.rng.IntN(260))*time.Second))
	default:
		claim := time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)
		if r < 0.75 {
			claim = now.Add(time.Duration(10+s.rng.IntN(50)) * time.Minute)
			s.stats["future-dated opt-ins import minutes ahead"]++
		} else {
			s.stats["future-dated opt-ins import 2099"]++
		}
		s.bump()
		s.consentLog = append(s.consentLog, invConsentAct{phone: c.phone, at: s.clock.Now(), what: "import claiming " + claim.Format(time.RFC3339)})
		im := &ingest.Importer{DB: s.db, Clock: s.clock, Region: "US"}
		csv := fmt.Sprintf("phone,id,consent,consent_source,consent_timestamp\n%s,%s,subscribed,import,%s\n", c.phone, c.id, claim.Format(time.RFC3339))
		sum, err := im.Import(ctx, strings.NewReader(csv), "csv")
		if err != nil || len(sum.Rejected) > 0 {
			s.tb.Fatalf("import of %s: %+v %v", c.id, sum, err)
		}
		if len(sum.ConsentRefused) > 0 {
			s.stats["future-dated imports refused (number unsubscribed)"]++
		}
	}
	if s.rng.Float64() < 0.8 {
		stop := time.Duration(1+s.rng.IntN(9)) * time.Minute
		s.later(c, stop, "inbound:"+invStopBodies[s.rng.IntN(len(invStopBodies))], nil)
		s.later(c, stop+time.Duration(5+s.rng.IntN(60))*time.Minute, "track:Sale Started", map[string]any{"campaign": "after-stop"})
	}
}

// checkOptOutsHold is the opt-out rule from ground truth: every provider
// call to a number after the number's latest opt-out (a STOP-family text, a
// revocation, an API opt-out) needs an explicit opt-in by the test between
// that opt-out and the call — unless it is the STOP or HELP reply.
func (s *invSim) checkOptOutsHold(sent []invSent, bad *invViolations) {
	acts := map[string][]invConsentAct{}
	for _, a := range s.consentLog {
		acts[a.phone] = append(acts[a.phone], a)
	}
	for _, x := range sent {
		if x.m.RunID == 0 && (x.m.StepID == "keyword:stop" || x.m.StepID == "keyword:help") {
			continue
		}
		var optOut *invConsentAct
		explicit := false
		for i := range acts[x.m.Phone] {
			a := &acts[x.m.Phone][i]
			if !a.at.Before(x.at) {
				break
			}
			switch {
			case a.optOut:
				optOut, explicit = a, false
			case a.explicit && optOut != nil:
				explicit = true
			}
		}
		if optOut != nil && !explicit {
			var history []string
			for _, a := range acts[x.m.Phone] {
				history = append(history, a.at.Format("01-02T15:04:05.000000")+" "+a.what)
			}
			bad.add("sent after an opt-out with no explicit opt-in since", "%s %s/%s at %s after %s at %s (actions: %s)", x.m.Phone, x.m.FlowID, x.m.StepID,
				x.at.Format(time.RFC3339Nano), optOut.what, optOut.at.Format(time.RFC3339Nano), strings.Join(history, "; "))
		}
	}
}
