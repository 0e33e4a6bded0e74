package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/smsflow/smsflow/internal/browsertest"
	"github.com/smsflow/smsflow/report"
)

// send calls the server without the JSON helper, with key as the Basic
// username (Segment's convention): ingestion with the server key, as a
// back end sends, or a flow's YAML with the admin key. It fails the test
// unless the answer is 2xx.
func send(t *testing.T, ui *browsertest.UI, key, method, path, contentType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ui.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, b)
	}
}

func ingest(t *testing.T, ui *browsertest.UI, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ui, ui.ServerKey, "POST", path, "application/json", b)
}

// stepOf finds a step of the report API's answer.
func stepOf(rep report.FlowReport, id string) (report.Step, bool) {
	for _, s := range rep.Steps {
		if s.StepID == id {
			return s, true
		}
	}
	return report.Step{}, false
}

// TestBrowserFlowPage opens a flow from the list, reads a node's counts in
// the graph and checks them against the report API, drills into the node,
// downloads the CSV, and diffs two versions of a flow — in Chromium against
// the real binary, on both databases.
func TestBrowserFlowPage(t *testing.T) {
	browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
		// A shipment update from the back end (server key) sends the service
		// text "shipped" (no consent needed, no quiet hours) through the
		// console provider.
		ingest(t, ui, "/v1/identify", map[string]any{"userId": "ana", "traits": map[string]any{"phone": "+1 415 555 0100", "first_name": "Ana"}})
		ingest(t, ui, "/v1/track", map[string]any{"userId": "ana", "event": "Shipment Updated",
			"properties": map[string]any{"status": "shipped", "order_id": "1001"}})
		var rep report.FlowReport
		// Wait for the engine to send it: poll the report API until the
		// step's message is out (a condition, with a deadline).
		deadline := time.Now().Add(60 * time.Second)
		for {
			rep = report.FlowReport{}
			ui.API(t, "GET", "/v1/flows/shipping-update/report", nil, &rep)
			if s, ok := stepOf(rep, "shipped"); ok && s.Sent >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the shipped text was not sent within 60 s; report %+v\nserver log:\n%s", rep.Steps, ui.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}

		ui.Login(t)
		ui.Open(t, "/flows")
		ui.Follow(t, chromedp.Click(chromedp.CSS(`a[href="/flows/shipping-update"]`)))
		ui.Do(t, chromedp.WaitVisible(chromedp.CSS(`svg.flow-graph`)))
		if got := ui.Location(t); got != "/flows/shipping-update" {
			t.Fatalf("the flow's link opened %s", got)
		}
		if h1 := ui.Text(t, "h1"); h1 != "Shipping updates" {
			t.Errorf("h1 = %q", h1)
		}
		// The node's figures are the report API's, for the same 30 days.
		ui.API(t, "GET", "/v1/flows/shipping-update/report", nil, &rep)
		api, _ := stepOf(rep, "shipped")
		for key, want := range map[string]int64{"entered": api.Entered, "sent": api.Sent, "delivered": api.Delivered, "converted": api.Conversions} {
			got := browsertest.Eval[string](t, ui, `document.querySelector('[data-step="shipped"] [data-count="`+key+`"] [data-value]').getAttribute('data-value')`)
			if got != strconv.FormatInt(want, 10) {
				t.Errorf("the graph's shipped node says %s %s; the report API says %d", key, got, want)
			}
		}
		if api.Sent < 1 {
			t.Errorf("the report API's shipped step sent %d, want at least 1", api.Sent)
		}
		trigger := browsertest.Eval[string](t, ui, `document.querySelector('[data-step="trigger"] [data-count="entered"] [data-value]').getAttribute('data-value')`)
		if trigger != strconv.FormatInt(rep.Totals.Entered, 10) {
			t.Errorf("the trigger node says %s entered; the report API says %d", trigger, rep.Totals.Entered)
		}
		// Branches are labelled with their condition.
		if labels := browsertest.Eval[string](t, ui, `[...document.querySelectorAll('.edge-label title')].map(e => e.textContent).join('|')`); !strings.Contains(labels, `when event.properties.status == "shipped"`) || !strings.Contains(labels, "else") {
			t.Errorf("edge labels %q lack the switch's conditions", labels)
		}
		ui.Screenshot(t, "flow")
		ui.Axe(t)
		ui.NoConsoleErrors(t)

		// Clicking the node lists its recent messages and decisions.
		ui.Follow(t, chromedp.Click(chromedp.CSS(`a[data-step="shipped"]`)))
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("activity-list")))
		if got := ui.Location(t); !strings.Contains(got, "step=shipped") {
			t.Errorf("the node's link opened %s", got)
		}
		rows := ui.Text(t, "#activity-list tbody")
		if !strings.Contains(rows, "sent") {
			t.Errorf("the shipped step's activity %q has no sent decision", rows)
		}
		contact := browsertest.Eval[string](t, ui, `document.querySelector('#activity-list a[href^="/contacts/"]').getAttribute('href')`)
		if contact == "/contacts/" {
			t.Errorf("the activity's contact link is %q", contact)
		}
		ui.Axe(t)

		// The CSV has the report's step columns.
		csv := browsertest.Eval[string](t, ui, `fetch(document.querySelector('a[href^="/flows/shipping-update/report.csv"]').href).then(r => r.text())`)
		header, _, _ := strings.Cut(csv, "\n")
		if strings.TrimSpace(header) != strings.Join(report.StepColumns, ",") {
			t.Errorf("CSV header %q, want %q", header, strings.Join(report.StepColumns, ","))
		}
		if !strings.Contains(csv, "\nshipped,"+strconv.FormatInt(api.Entered, 10)+","+strconv.FormatInt(api.Sent, 10)+",") {
			t.Errorf("CSV has no shipped row with the API's figures:\n%s", csv)
		}

		// Two versions of an API flow, diffed.
		v1 := "id: diffme\nname: Diff me\ncategory: promo\ntrigger:\n  event: Diffed\nsteps:\n  - id: hi\n    send: \"Hello <b>there</b>\"\n"
		v2 := strings.Replace(v1, "Hello <b>there</b>", "Hi & welcome", 1) + "  - wait: 1h\n"
		send(t, ui, ui.AdminKey, "PUT", "/v1/flows/diffme", "application/yaml", []byte(v1))
		send(t, ui, ui.AdminKey, "PUT", "/v1/flows/diffme", "application/yaml", []byte(v2))
		ui.Open(t, "/flows/diffme")
		if got := ui.Text(t, "#diff-summary"); !strings.HasPrefix(got, "Version 1 → version 2") {
			t.Errorf("the default diff is %q, want the previous version against the current one", got)
		}
		ui.Do(t, chromedp.SetValue(chromedp.ID("diff-a"), "2"), chromedp.SetValue(chromedp.ID("diff-b"), "1"),
			chromedp.Click(chromedp.CSS(`.diff-form button`)),
			// the form's GET loads a new page, whose summary names the pair
			chromedp.WaitVisible(chromedp.CSS(`#diff-summary[data-pair="2-1"]`)))
		if got := ui.Location(t); !strings.Contains(got, "a=2") || !strings.Contains(got, "b=1") {
			t.Errorf("the diff form went to %s", got)
		}
		if got := ui.Text(t, "#diff-summary"); !strings.HasPrefix(got, "Version 2 → version 1") {
			t.Errorf("after choosing 2 and 1 the diff is %q", got)
		}
		added := browsertest.Eval[string](t, ui, `[...document.querySelectorAll('#diff tr.diff-add code')].map(e => e.textContent).join('|')`)
		removed := browsertest.Eval[string](t, ui, `[...document.querySelectorAll('#diff tr.diff-del code')].map(e => e.textContent).join('|')`)
		if added != `    send: "Hello <b>there</b>"` || removed != `    send: "Hi & welcome"|  - wait: 1h` {
			t.Errorf("diff of 2 → 1: added %q, removed %q", added, removed)
		}
		if n := browsertest.Eval[int](t, ui, `document.querySelectorAll('#diff b').length`); n != 0 {
			t.Errorf("the diff rendered markup from the flow (%d <b>)", n)
		}
		ui.Axe(t)
		ui.NoConsoleErrors(t)
	})
}
