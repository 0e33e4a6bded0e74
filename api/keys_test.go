package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

var ctx = context.Background()

var testKeys = api.Keys{Write: "wk_public", Server: "sk_secret_of_the_back_end", Admin: "ak_admin"}

type ingestAPI struct {
	t         *testing.T
	url       string
	db        *store.DB
	clock     *testkit.Clock
	throttled map[string]int
}

// newIngestAPI serves the API over db with cfg's limits (none when cfg is
// the zero value's) and a clock that stands still unless moved.
func newIngestAPI(t *testing.T, db *store.DB, limits config.Limits) *ingestAPI {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &ingestAPI{t: t, db: db, clock: testkit.NewClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)), throttled: map[string]int{}}
	w := ingest.NewWriter(db, a.clock, log)
	w.Start()
	t.Cleanup(w.Stop)
	cfg := config.Default()
	cfg.Limits = limits
	var mu sync.Mutex
	srv := httptest.NewServer(api.New(api.Deps{Config: cfg, DB: db, Writer: w, Clock: a.clock, Log: log, Keys: testKeys,
		OnThrottled: func(l string) { mu.Lock(); a.throttled[l]++; mu.Unlock() }}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

type answer struct {
	status int
	body   string
	header http.Header
}

// post sends body with key (HTTP Basic, as Segment does) from the client
// address addr ("" for the test's own), which reaches the server through
// X-Forwarded-For from the loopback "proxy".
func (a *ingestAPI) post(path, key, addr, body string) answer {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.url+path, strings.NewReader(body))
	req.SetBasicAuth(key, "")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b), resp.Header}
}

func TestIngestKeysTrust(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newIngestAPI(t, db, config.Limits{})
		for i, k := range []struct {
			key, user  string
			verified   bool
			eventTrust smsflow.Trust
		}{
			{testKeys.Write, "by-write", false, smsflow.TrustPublic},
			{testKeys.Server, "by-server", true, ""},
			{testKeys.Admin, "by-admin", true, ""},
		} {
			if r := a.post("/v1/identify", k.key, "", fmt.Sprintf(`{"userId":%q,"traits":{"phone":"+1415555%04d"}}`, k.user, i)); r.status != 200 {
				t.Fatalf("identify with the %s key: %d %s", k.user, r.status, r.body)
			}
			c, err := db.Contact(ctx, k.user)
			if err != nil || c.PhoneVerified != k.verified {
				t.Errorf("%s: contact %+v, %v; want verified=%v", k.user, c, err, k.verified)
			}
			evs, _ := db.EventsByContact(ctx, k.user, 10)
			if len(evs) != 1 || evs[0].Trust != k.eventTrust {
				t.Errorf("%s: events %+v, want trust %q", k.user, evs, k.eventTrust)
			}
		}
		if r := a.post("/v1/track", "wrong", "", `{"userId":"x","event":"E"}`); r.status != 401 {
			t.Errorf("wrong key: %d %s", r.status, r.body)
		}
		req, _ := http.NewRequest("GET", a.url+"/v1/flows", nil)
		req.Header.Set("Authorization", "Bearer "+testKeys.Server)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("server key on an admin route: %v %v, want 403", resp.StatusCode, err)
		}
		if v, ok, err := db.Setting(ctx, api.ServerKeyFirstUsed); err != nil || !ok || v != "2026-05-04T12:00:00Z" {
			t.Errorf("first use of the server key recorded as %q %v %v", v, ok, err)
		}
	})
}

func TestWriteKeyIsNoOracle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newIngestAPI(t, db, config.Limits{})
		// 42 customers, set up by the back end.
		var setup []string
		for i := range 42 {
			setup = append(setup, fmt.Sprintf(`{"type":"identify","userId":"customer-%d@example.com","traits":{"phone":"+1415555%04d"}}`, i, i))
		}
		if r := a.post("/v1/batch", testKeys.Server, "", `{"batch":[`+strings.Join(setup, ",")+`]}`); r.status != 200 || strings.Contains(r.body, "errors") {
			t.Fatalf("setup: %d %s", r.status, r.body)
		}
		// 60 probes: 42 numbers that belong to someone, 18 that do not.
		var probes []string
		for i := range 60 {
			probes = append(probes, fmt.Sprintf(`{"type":"identify","userId":"probe-%d","traits":{"phone":"+1415555%04d"}}`, i, i))
		}
		r := a.post("/v1/batch", testKeys.Write, "", `{"batch":[`+strings.Join(probes, ",")+`]}`)
		if r.status != 200 || r.body != "{\"success\":true}\n" {
			t.Fatalf("60 probes answered %d %s, want a plain success", r.status, r.body)
		}
		// One by one: a taken number, a free one, a change of a known
		// contact's number, an alias into it — the same answer.
		for _, p := range []struct{ path, body string }{
			{"/v1/identify", `{"userId":"probe-x","traits":{"phone":"+14155550001"}}`},
			{"/v1/identify", `{"userId":"probe-y","traits":{"phone":"+14155559999"}}`},
			{"/v1/identify", `{"userId":"customer-1@example.com","traits":{"phone":"+14155558888"}}`},
			{"/v1/alias", `{"userId":"probe-y","previousId":"customer-2@example.com"}`},
		} {
			if r := a.post(p.path, testKeys.Write, "", p.body); r.status != 200 || r.body != "{\"success\":true}\n" {
				t.Errorf("%s %s: %d %s, want a plain success", p.path, p.body, r.status, r.body)
			}
		}
		for i := range 42 {
			c, err := db.Contact(ctx, fmt.Sprintf("customer-%d@example.com", i))
			if err != nil || c.Phone != fmt.Sprintf("+1415555%04d", i) {
				t.Fatalf("customer %d after the probes: %+v %v", i, c, err)
			}
		}
		if n, _ := db.CountContacts(ctx); n != 42+18+1 {
			t.Errorf("%d contacts, want 61 (the probes with free numbers)", n)
		}
		// The back end gets the details.
		r = a.post("/v1/identify", testKeys.Server, "", `{"userId":"probe-z","traits":{"phone":"+14155550001"}}`)
		if r.status != 409 || !strings.Contains(r.body, "customer-1@example.com") {
			t.Errorf("server key, a taken number: %d %s", r.status, r.body)
		}
	})
}

func TestIngestLimits(t *testing.T) {
	db := storetest.OpenSQLite(t)
	a := newIngestAPI(t, db, config.Limits{IngestPerIP: "5/s", IngestPerKey: "20/s"})
	track := func(n int) string {
		var items []string
		for i := range n {
			items = append(items, fmt.Sprintf(`{"type":"track","userId":"u","event":"E","messageId":"m-%d-%d"}`, n, i))
		}
		return `{"batch":[` + strings.Join(items, ",") + `]}`
	}
	one := `{"userId":"u","event":"E"}`
	for i := range 5 {
		if r := a.post("/v1/track", testKeys.Write, "203.0.113.7", one); r.status != 200 {
			t.Fatalf("call %d of 5 from one address: %d %s", i+1, r.status, r.body)
		}
	}
	r := a.post("/v1/track", testKeys.Write, "203.0.113.7", one)
	if r.status != 429 || r.header.Get("Retry-After") != "1" || !strings.Contains(r.body, `"code":"rate_limited"`) {
		t.Fatalf("6th call in the second: %d Retry-After=%q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// Another address, and the server key from the same one, are not held.
	if r := a.post("/v1/track", testKeys.Write, "198.51.100.1", one); r.status != 200 {
		t.Errorf("another address: %d %s", r.status, r.body)
	}
	if r := a.post("/v1/batch", testKeys.Server, "203.0.113.7", track(8)); r.status != 200 {
		t.Errorf("server key from a held address: %d %s", r.status, r.body)
	}
	// A batch costs its events: 12 events from a fresh address go through
	// (a batch is never refused for its size) and leave the bucket 7 in
	// debt, so the next event may come after (7+1)/5 = 1.6 s.
	if r := a.post("/v1/batch", testKeys.Write, "192.0.2.9", track(12)); r.status != 200 {
		t.Fatalf("a batch over the per-second rate: %d %s", r.status, r.body)
	}
	if r := a.post("/v1/track", testKeys.Write, "192.0.2.9", one); r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Errorf("after the batch: %d Retry-After=%q, want 429 and 2 s", r.status, r.header.Get("Retry-After"))
	}
	a.clock.Add(1700 * time.Millisecond)
	if r := a.post("/v1/track", testKeys.Write, "192.0.2.9", one); r.status != 200 {
		t.Errorf("after waiting: %d %s", r.status, r.body)
	}
	// IPv6 addresses count by their /64.
	for i := range 5 {
		a.post("/v1/track", testKeys.Write, fmt.Sprintf("2001:db8:1:2::%x", i+1), one)
	}
	if r := a.post("/v1/track", testKeys.Write, "2001:db8:1:2:ffff::1", one); r.status != 429 {
		t.Errorf("6th call from one /64: %d", r.status)
	}
	// The per-key limit holds every key, the server key too: 20 events a
	// second.
	a.clock.Add(time.Second)
	if r := a.post("/v1/batch", testKeys.Server, "", track(20)); r.status != 200 {
		t.Fatalf("server key, 20 events: %d %s", r.status, r.body)
	}
	r = a.post("/v1/track", testKeys.Server, "", one)
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "server key") {
		t.Errorf("server key past its limit: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if a.throttled["ip"] != 3 || a.throttled["key"] != 1 {
		t.Errorf("throttled %v, want 3 by address and 1 by key", a.throttled)
	}
}
