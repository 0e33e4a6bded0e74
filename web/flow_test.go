package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/report"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const pageFlow = `id: promo
name: Promo <b>bold</b>
category: promo
trigger:
  event: Promo Asked
goal:
  event: Order Completed
  within: 2d
steps:
  - id: first
    send: "Hi <script>alert(1)</script>"
  - if: 'contact.traits.tag == "<img src=x onerror=alert(1)>"'
    then:
      - id: second
        send: "Again"
`

// flowUI is a UI over a database holding flow "promo" (two versions) and
// two runs entered a day before the clock: one sent "first" (delivered)
// and converted, one deferred by quiet hours there.
func flowUI(t *testing.T, db *store.DB) (*UI, *http.Cookie) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := now.Add(-24 * time.Hour)
	cat := engine.NewCatalog(db)
	for _, src := range []string{pageFlow, strings.Replace(pageFlow, `send: "Again"`, `send: "Again & again"`, 1)} {
		if _, problems, err := cat.Save(ctx, "promo", []byte(src), at); err != nil {
			t.Fatalf("save flow: %v %v", err, problems)
		}
	}
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		for i, id := range []string{"ana", "bo"} {
			r := &smsflow.Run{FlowID: "promo", FlowVersion: 2, ContactID: id, Status: smsflow.RunWaiting, EnteredAt: at, UpdatedAt: at}
			if i == 0 {
				r.Status, r.ExitReason, r.GoalAt, r.GoalValue = smsflow.RunExited, "goal", at.Add(time.Hour), 30
			}
			if err := tx.InsertRun(r); err != nil {
				return err
			}
			reason := smsflow.DecisionSent
			if i == 0 {
				m := &smsflow.Message{Direction: "out", RunID: r.ID, StepID: "first", FlowID: "promo", ContactID: id, Phone: "+14155550100",
					Body: "x", Segments: 1, Status: smsflow.MessageDelivered, ProviderID: "SM1", CreatedAt: at.Add(time.Minute), UpdatedAt: at.Add(time.Minute)}
				if _, err := tx.InsertMessage(m); err != nil {
					return err
				}
			} else {
				reason = smsflow.DecisionDeferredQuiet
			}
			if err := tx.InsertDecision(&smsflow.Decision{RunID: r.ID, StepID: "first", FlowID: "promo", ContactID: id, Reason: reason, At: at.Add(time.Minute)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	u := New(Deps{Config: config.Default(), DB: db, Clock: testkit.NewClock(now), Catalog: cat, AdminKey: "ak_test"})
	return u, login(t, u)
}

func get(u *UI, c *http.Cookie, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, req)
	return rec
}

func TestFlowPageShowsTheReportsFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		u, c := flowUI(t, db)
		rec := get(u, c, "/flows/promo")
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /flows/promo: %d\n%s", rec.Code, body)
		}
		for _, want := range []string{
			`data-step="first"`, `data-count="sent"`, `data-value="1"`, // one sent
			`data-count="deferred:quiet_hours"`,      // the deferral by reason
			`Promo &lt;b&gt;bold&lt;/b&gt;`,          // the name, escaped
			`&lt;script&gt;alert(1)&lt;/script&gt;`,  // the template, escaped
			`href="/flows/promo/report.csv?days=30"`, // the CSV of the period
			`data-pair="1-2"`,                        // the default diff: previous → current
			`Again &amp; again`,                      // the changed line, escaped
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the page has no %s", want)
			}
		}
		for _, bad := range []string{"<script>alert", "<img src=x", "<b>bold"} {
			if strings.Contains(body, bad) {
				t.Errorf("the page carries markup from the flow: %s", bad)
			}
		}

		// The drill-down lists the step's decisions with contact links.
		rec = get(u, c, "/flows/promo?step=first")
		body = rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, `id="activity-list"`) || !strings.Contains(body, `href="/contacts/ana"`) ||
			!strings.Contains(body, "deferred:quiet_hours") || !strings.Contains(body, `msg-delivered`) {
			t.Errorf("GET ?step=first: %d, no activity list with ana's delivered message and bo's deferral", rec.Code)
		}

		// The CSV is the report API's step table.
		rec = get(u, c, "/flows/promo/report.csv?days=7")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(rec.Body.String(), strings.Join(report.StepColumns, ",")+"\n") ||
			!strings.Contains(rec.Body.String(), "\nfirst,2,1,1,") {
			t.Errorf("CSV: %d %q\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	})
}

func TestFlowPageRefusesBadInputReadably(t *testing.T) {
	db := storetest.OpenSQLite(t)
	u, c := flowUI(t, db)
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/flows/nope", http.StatusNotFound, "There is no flow nope"},
		{"/flows/promo?days=5", http.StatusBadRequest, "7, 30 or 90 days"},
		{"/flows/promo?days=%3Cb%3E", http.StatusBadRequest, "7, 30 or 90 days"},
		{"/flows/promo?step=%3Cscript%3E", http.StatusNotFound, "has no step &lt;script&gt;"},
		{"/flows/promo?a=9", http.StatusBadRequest, "no version &#34;9&#34;"},
		{"/flows/promo?b=x", http.StatusBadRequest, "no version &#34;x&#34;"},
		{"/flows/promo/report.csv?days=1", http.StatusBadRequest, "7, 30 or 90 days"},
		{"/flows/nope/report.csv", http.StatusNotFound, "There is no flow nope"},
	} {
		rec := get(u, c, tc.path)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.msg) {
			t.Errorf("GET %s: %d, want %d saying %q\n%s", tc.path, rec.Code, tc.code, tc.msg, rec.Body.String())
		}
	}
}
