package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/ingest/segment"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// ingestHandler is the API with a running writer over db, keys wk/ak.
func ingestHandler(t testing.TB, db *store.DB, clock smsflow.Clock) http.Handler {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := ingest.NewWriter(db, clock, log)
	w.Start()
	t.Cleanup(w.Stop)
	cfg := config.Default()
	cfg.Brand.Name = "Glow"
	return api.New(api.Deps{Config: cfg, DB: db, Writer: w, Clock: clock, Log: log, Keys: api.Keys{Write: "wk", Server: "sk", Admin: "ak"}})
}

// parseOnlyHandler is the API without a database: enough for batches that
// no item of passes the parser.
func parseOnlyHandler() http.Handler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return api.New(api.Deps{Config: config.Default(), Clock: smsflow.WallClock{}, Log: log, Keys: api.Keys{Write: "wk", Admin: "ak"}})
}

type batchAnswer struct {
	Success    bool `json:"success"`
	MoreErrors int  `json:"more_errors"`
	Errors     []struct {
		Index       int
		Code, Field string
		Message     string
	} `json:"errors"`
}

func postBatch(t testing.TB, h http.Handler, body string) (*httptest.ResponseRecorder, batchAnswer) {
	t.Helper()
	return postBatchAs(t, h, "wk", body)
}

// postBatchAs posts a batch with the given key.
func postBatchAs(t testing.TB, h http.Handler, key, body string) (*httptest.ResponseRecorder, batchAnswer) {
	t.Helper()
	req := httptest.NewRequest("POST", "/v1/batch", strings.NewReader(body))
	req.SetBasicAuth(key, "")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var a batchAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %d %.300s: %v", rec.Code, rec.Body.String(), err)
	}
	return rec, a
}

// Issue 16 item 8: a batch of 130,000 bad items answers the first 100
// errors and how many more, not a 12 MB list.
func TestBatchErrorsAreCapped(t *testing.T) {
	h := parseOnlyHandler()
	const n = 130000
	rec, a := postBatch(t, h, `{"batch":[`+strings.TrimSuffix(strings.Repeat("1,", n), ",")+`]}`)
	if rec.Code != 200 || !a.Success {
		t.Fatalf("status %d %.300s", rec.Code, rec.Body.String())
	}
	if len(a.Errors) != segment.MaxListedErrors || a.MoreErrors != n-segment.MaxListedErrors {
		t.Fatalf("%d errors listed and more_errors %d, want %d and %d", len(a.Errors), a.MoreErrors, segment.MaxListedErrors, n-segment.MaxListedErrors)
	}
	for i, e := range a.Errors {
		if e.Index != i || e.Code != "invalid" || e.Message != "the message must be a JSON object" {
			t.Fatalf("error %d: %+v", i, e)
		}
	}
	if rec.Body.Len() > 16<<10 {
		t.Errorf("answer is %d bytes", rec.Body.Len())
	}
}

// Errors from the parser, from the phone check and from the writer come
// back in batch order, and good items around them are stored. (The server
// key: the write key's refusals that would reveal another contact are
// answered as successes.)
func TestBatchErrorsInBatchOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := ingestHandler(t, db, smsflow.WallClock{})
		rec, a := postBatchAs(t, h, "sk", `{"batch":[
			{"type":"identify","userId":"ana","traits":{"phone":"+14155550100"}},
			{"type":"identify","userId":"bob","traits":{"phone":"+14155550100"}},
			1,
			{"type":"identify","userId":"cy","traits":{"phone":"12"}},
			{"type":"track","userId":"ana\u0000","event":"E"},
			{"type":"identify","userId":"dee"}]}`)
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
		var got []string
		for _, e := range a.Errors {
			got = append(got, fmt.Sprintf("%d:%s:%s", e.Index, e.Code, e.Field))
		}
		if want := "1:conflict:traits.phone 2:invalid: 3:invalid:traits.phone 4:invalid:userId"; strings.Join(got, " ") != want {
			t.Errorf("errors %v, want %s", got, want)
		}
		for _, id := range []string{"ana", "dee"} {
			if c, err := db.Contact(context.Background(), id); err != nil || c == nil {
				t.Errorf("%s not stored: %v", id, err)
			}
		}
	})
}

// Issue 16 item 8 through the API: a batch context that would take items
// past 32 KB once merged is refused per item and nothing is stored.
func TestBatchContextCountsInEachItem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := ingestHandler(t, db, smsflow.WallClock{})
		items := make([]string, 100)
		for i := range items {
			items[i] = fmt.Sprintf(`{"type":"track","userId":"u%d","event":"E"}`, i)
		}
		ctx := `{"blob":"` + strings.Repeat("c", 40<<10) + `"}`
		rec, a := postBatch(t, h, `{"context":`+ctx+`,"batch":[`+strings.Join(items, ",")+`]}`)
		if rec.Code != 200 || len(a.Errors) != 100 || a.Errors[0].Code != "too_large" || a.Errors[0].Field != "context" {
			t.Fatalf("%d %.400s", rec.Code, rec.Body.String())
		}
		var n int
		if err := db.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d events stored (%v), want none", n, err)
		}
	})
}

// BenchmarkBatchOfBadItems measures a 500 KB batch of invalid items end to
// end (parse, sort, answer): 130,000 that the parser refuses, and 16,000
// whose refusals by the parser and by the phone check interleave (the order
// that made the insertion sort quadratic).
func BenchmarkBatchOfBadItems(b *testing.B) {
	h := parseOnlyHandler()
	phone := `{"type":"identify","userId":"u","traits":{"phone":"12"}}`
	for _, c := range []struct{ name, body string }{
		{"parser", `{"batch":[` + strings.TrimSuffix(strings.Repeat("1,", 130000), ",") + `]}`},
		{"interleaved", `{"batch":[` + strings.TrimSuffix(strings.Repeat(phone+",1,", 8000), ",") + `]}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				postBatch(b, h, c.body)
			}
		})
	}
}

// linkRequest asks for a link code from a client address.
func linkRequest(h http.Handler, code, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/l/"+code, nil)
	req.RemoteAddr = remote
	req.Header.Set("User-Agent", safariIOS)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Issue 16 item 15: unknown link codes are limited per client; a known
// code always redirects, even for a client past its limit.
func TestUnknownLinkCodesLimitedPerClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
		err := db.WriteTx(context.Background(), func(tx *store.Tx) error {
			_, err := tx.InsertLink(&store.Link{Code: "Ab3dEf7", URL: linkDest, RunID: 7, StepID: "reminder", FlowID: "cart",
				ContactID: "ana", CreatedAt: clock.Now()})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		h := ingestHandler(t, db, clock)
		const prober = "203.0.113.9:40000"
		for i := range 20 {
			if rec := linkRequest(h, fmt.Sprintf("Nope%03d", i), prober); rec.Code != 404 {
				t.Fatalf("unknown code %d: %d, want 404", i, rec.Code)
			}
		}
		rec := linkRequest(h, "Nope999", prober)
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "3" || !strings.Contains(rec.Body.String(), "Glow") {
			t.Fatalf("21st unknown code: %d Retry-After %q, want 429 after 3 s with the friendly page", rec.Code, rec.Header().Get("Retry-After"))
		}
		// Codes that cannot exist count the same (and never reach the database).
		if rec := linkRequest(h, "ab%00cdef", prober); rec.Code != 429 {
			t.Errorf("NUL code from the limited client: %d, want 429", rec.Code)
		}
		// A real click still redirects and counts.
		if rec := linkRequest(h, "Ab3dEf7", prober); rec.Code != 302 || rec.Header().Get("Location") != linkDest {
			t.Errorf("known code from the limited client: %d, want 302", rec.Code)
		}
		if n, clicked := linkClicks(t, db); n != 1 || !clicked {
			t.Errorf("click not recorded: %d events, clicked %v", n, clicked)
		}
		// Another address is not limited; the same IPv6 /64 is one client.
		if rec := linkRequest(h, "Nope000", "203.0.113.10:1"); rec.Code != 404 {
			t.Errorf("another client: %d, want 404", rec.Code)
		}
		for i := range 20 {
			linkRequest(h, "Nope000", fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
		}
		if rec := linkRequest(h, "Nope000", "[2001:db8:1:2:ffff::1]:443"); rec.Code != 429 {
			t.Errorf("21st unknown code from one IPv6 /64: %d, want 429", rec.Code)
		}
		if rec := linkRequest(h, "Nope000", "[2001:db8:1:3::1]:443"); rec.Code != 404 {
			t.Errorf("another /64: %d, want 404", rec.Code)
		}
		// The budget refills: one more lookup every 3 s.
		clock.Add(3 * time.Second)
		if rec := linkRequest(h, "Nope000", prober); rec.Code != 404 {
			t.Errorf("after 3 s: %d, want 404", rec.Code)
		}
		if rec := linkRequest(h, "Nope000", prober); rec.Code != 429 {
			t.Errorf("second lookup after 3 s: %d, want 429", rec.Code)
		}
	})
}

// Identifiers in URLs: a control character or invalid UTF-8 in a path or
// a query value is a 400 before any handler or database sees it.
func TestURLWithControlCharactersRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := ingestHandler(t, db, smsflow.WallClock{})
		for _, c := range []struct{ url, field string }{
			{"/v1/contacts/ab%00cd", "path"},
			{"/v1/contacts/ab%0Acd/timeline", "path"},
			{"/v1/flows/%C0%AF/report", "path"},
			{"/v1/messages?contact=ab%00cd", "contact"},
			{"/v1/messages?status=%FF", "status"},
			{"/v1/messages?a%00b=1", "query"},
		} {
			req := httptest.NewRequest("GET", c.url, nil)
			req.Header.Set("Authorization", "Bearer ak")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var e struct {
				Error struct{ Code, Field, Message string }
			}
			json.Unmarshal(rec.Body.Bytes(), &e)
			if rec.Code != 400 || e.Error.Code != "invalid" || e.Error.Field != c.field || !strings.HasPrefix(e.Error.Message, "the ") {
				t.Errorf("GET %s: %d %s, want 400 naming %s", c.url, rec.Code, rec.Body.String(), c.field)
			}
		}
		req := httptest.NewRequest("GET", "/v1/messages?contact=ana", nil)
		req.Header.Set("Authorization", "Bearer ak")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("a plain filter: %d %s", rec.Code, rec.Body.String())
		}
	})
}
