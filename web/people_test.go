package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The tests of the contacts, messages and inbox pages (issue 20, D95):
// the real handlers on a real database (both), through UI.ServeHTTP with
// a logged-in session.

var bg = context.Background()

// peopleUI is a UI on db with the console provider, US numbers, and a
// logged-in session (cookie and CSRF token).
type peopleUI struct {
	*UI
	db     *store.DB
	clock  *testkit.Clock
	cookie *http.Cookie
	csrf   string
}

func newPeopleUI(t *testing.T, db *store.DB) *peopleUI {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC))
	u := New(Deps{Config: config.Config{DefaultRegion: "US", Provider: "console"}, DB: db, Clock: clock, AdminKey: "ak_test",
		Console: console.New(slog.New(slog.DiscardHandler))})
	p := &peopleUI{UI: u, db: db, clock: clock}
	p.relogin(t)
	return p
}

// relogin logs in again (after the test clock passed the session's end).
func (p *peopleUI) relogin(t *testing.T) {
	t.Helper()
	p.cookie = login(t, p.UI)
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(p.cookie)
	s := p.readSession(req)
	if s == nil {
		t.Fatal("no session after login")
	}
	p.csrf = p.sessions.csrf(s)
}

func (p *peopleUI) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(p.cookie)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func (p *peopleUI) post(t *testing.T, path string, form url.Values) (int, string, http.Header) {
	t.Helper()
	if form.Get(CSRFField) == "" && form.Get("no-csrf") == "" {
		form.Set(CSRFField, p.csrf)
	}
	form.Del("no-csrf")
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(p.cookie)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func write(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.WriteTx(bg, fn); err != nil {
		t.Fatal(err)
	}
}

func addContact(t *testing.T, db *store.DB, c *smsflow.Contact) {
	t.Helper()
	if c.Traits == nil {
		c.Traits = map[string]any{}
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt, c.UpdatedAt = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	write(t, db, func(tx *store.Tx) error { return tx.InsertContact(c) })
}

func addMessage(t *testing.T, db *store.DB, m smsflow.Message) *smsflow.Message {
	t.Helper()
	if m.Direction == "" {
		m.Direction = "out"
	}
	if m.Phone == "" {
		m.Phone = "+14155550101"
	}
	if m.Encoding == "" {
		m.Encoding, m.Characters, m.Segments = "GSM-7", len(m.Body), 1
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	}
	m.UpdatedAt = m.CreatedAt
	write(t, db, func(tx *store.Tx) error { _, err := tx.InsertMessage(&m); return err })
	return &m
}

func TestContactSearchAnyFormat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		addContact(t, db, &smsflow.Contact{ID: "ana", Phone: "+14155550101", Timezone: "America/Chicago"})
		for _, q := range []string{"(415) 555-0101", "+1 415 555 0101", "4155550101", "ana"} {
			code, _, h := p.get(t, "/contacts?q="+url.QueryEscape(q))
			if code != http.StatusSeeOther || h.Get("Location") != "/contacts/ana" {
				t.Errorf("search %q: %d to %q, want 303 to /contacts/ana", q, code, h.Get("Location"))
			}
		}
		code, body, _ := p.get(t, "/contacts?q="+url.QueryEscape("(415) 555-0199"))
		if code != http.StatusNotFound || !strings.Contains(body, "No contact has the id &#34;(415) 555-0199&#34; or the number &#43;14155550199.") {
			t.Errorf("an unknown number: %d %s", code, body)
		}
		code, body, _ = p.get(t, "/contacts?q=nobody")
		if code != http.StatusNotFound || !strings.Contains(body, "it is not a phone number") {
			t.Errorf("an unknown id: %d %s", code, body)
		}
		code, body, _ = p.get(t, "/contacts?q="+strings.Repeat("9", 300))
		if code != http.StatusBadRequest || !strings.Contains(body, "at most 200") {
			t.Errorf("a long search: %d %s", code, body)
		}
		if code, _, _ := p.get(t, "/contacts/nobody"); code != http.StatusNotFound {
			t.Errorf("/contacts/nobody: %d, want 404", code)
		}
	})
}

// The contact's page escapes traits, shows the ledger with its evidence
// and the decisions in words, in the contact's zone.
func TestContactPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		addContact(t, db, &smsflow.Contact{ID: "ana", Phone: "+14155550101", Timezone: "America/Chicago",
			Traits: map[string]any{"nickname": "<img src=x onerror=alert(1)>", "vip": true}})
		write(t, db, func(tx *store.Tx) error {
			if err := tx.AppendConsent(&smsflow.ConsentEntry{Phone: "+14155550101", ContactID: "ana", Status: smsflow.ConsentSubscribed, Source: "web_form",
				Evidence: map[string]any{"ip": "203.0.113.9", "form": "checkout"}, OccurredAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), RecordedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}); err != nil {
				return err
			}
			for _, d := range []smsflow.Decision{
				{FlowID: "promo", StepID: "offer", ContactID: "ana", Reason: "deferred:quiet_hours(until=2026-03-03T14:00:00Z)", At: time.Date(2026, 3, 3, 3, 0, 0, 0, time.UTC)},
				{FlowID: "promo", StepID: "offer", ContactID: "ana", Reason: "skipped:cap(rule=marketing-daily)", At: time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)},
			} {
				if err := tx.InsertDecision(&d); err != nil {
					return err
				}
			}
			return nil
		})
		addMessage(t, db, smsflow.Message{ContactID: "ana", Body: "Hi Ana", Status: "delivered", FlowID: "promo", StepID: "hello", Category: "promo"})
		code, body, _ := p.get(t, "/contacts/ana")
		if code != http.StatusOK {
			t.Fatalf("/contacts/ana: %d %s", code, body)
		}
		for _, want := range []string{
			"&lt;img src=x onerror=alert(1)&gt;",
			"deferred: quiet hours until 08:00 America/Chicago",
			"skipped: cap marketing-daily",
			"203.0.113.9", "web_form", "subscribed",
			"Hi Ana", "delivered",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the contact's page has no %q", want)
			}
		}
		if strings.Contains(body, "<img src=x") {
			t.Error("the trait went into the page as markup")
		}
		// Newest first: the cap decision (the latest) before the deferral.
		if i, j := strings.Index(body, "skipped: cap"), strings.Index(body, "deferred: quiet"); i > j {
			t.Error("the timeline is not newest first")
		}
		if code, _, _ := p.get(t, "/contacts/ana?before=x"); code != http.StatusBadRequest {
			t.Errorf("?before=x: %d, want 400", code)
		}
	})
}

func TestDescribeDecision(t *testing.T) {
	for _, tc := range []struct{ reason, zone, want string }{
		{"deferred:quiet_hours(until=2026-03-03T14:00:00Z)", "America/Chicago", "deferred: quiet hours until 08:00 America/Chicago (Tue 3 Mar 2026)"},
		{"deferred:quiet_hours(until=2026-03-03T14:00:00Z)", "", "deferred: quiet hours until 14:00 UTC (Tue 3 Mar 2026)"},
		{"deferred:cap(until=2026-03-03T14:00:00Z)", "America/New_York", "deferred: cap until 09:00 America/New_York (Tue 3 Mar 2026)"},
		{"skipped:cap(rule=marketing-daily)", "", "skipped: cap marketing-daily"},
		{"skipped:cap(rule=state:FL)", "", "skipped: cap state:FL"},
		{"skipped:no_consent", "", "skipped: no consent"},
		{"skipped:collision(flow=welcome)", "", "skipped: collision welcome"},
		{"failed:provider(code=21610)", "", "failed: provider (21610)"},
		{"sent", "", "sent"},
	} {
		if got := DescribeDecision(tc.reason, tc.zone); got != tc.want {
			t.Errorf("DescribeDecision(%q, %q) = %q, want %q", tc.reason, tc.zone, got, tc.want)
		}
	}
}

// The timeline's pages: newest first, TimelinePage at a time, the cursor
// never splitting entries of one instant, every entry on exactly one page.
func TestTimelinePages(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var items []smsflow.TimelineItem
	for i := range 120 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if i >= 68 && i <= 72 {
			at = t0.Add(70 * time.Minute) // five at one instant, across the first page's end
		}
		items = append(items, smsflow.TimelineItem{Type: "event", Name: "e", Timestamp: at})
	}
	var seen int
	var before int64
	var pages []int
	for {
		rows, next := timelinePage(items, before, "")
		pages = append(pages, len(rows))
		seen += len(rows)
		for i := 1; i < len(rows); i++ {
			if rows[i].At.After(rows[i-1].At) {
				t.Fatalf("page %d is not newest first", len(pages))
			}
		}
		if next == "" {
			break
		}
		var err error
		if before, err = parseInt(next); err != nil {
			t.Fatal(err)
		}
	}
	if seen != 120 {
		t.Errorf("the pages hold %d entries, want all 120 once (pages %v)", seen, pages)
	}
	if pages[0] != 52 { // 50 plus the two more of the instant at its end
		t.Errorf("pages %v: the first should keep the whole instant at its end (52)", pages)
	}
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
