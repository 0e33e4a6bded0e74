package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/smsflow/smsflow/internal/browsertest"
)

// flowReport is the part of GET /v1/flows/{id}/report the list shows.
type flowReport struct {
	Totals struct {
		Entered     int64    `json:"entered"`
		Sent        int64    `json:"sent"`
		CTR         *float64 `json:"ctr"`
		OptOutRate  *float64 `json:"opt_out_rate"`
		Conversions int64    `json:"conversions"`
		Revenue     float64  `json:"revenue"`
	} `json:"totals"`
}

func rate(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f%%", *v*100)
}

// xssName is a flow name that would run script if it were markup.
const xssName = `<img src=x onerror=alert(1)>`

// TestBrowserFlowsList reads the flows list after contacts entered the
// welcome flow and checks it against GET /v1/flows and the report API;
// pauses and resumes a flow with its buttons; and shows a flow whose name
// is markup as text.
func TestBrowserFlowsList(t *testing.T) {
	browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
		// A paused API flow with a hostile name, and five new subscribers
		// entering the bundled welcome flow.
		ui.PutFlow(t, "xss-flow", "id: xss-flow\nname: '"+xssName+"'\ncategory: promo\ntrigger:\n  event: Nothing Happened\nsteps:\n  - send: \"hi\"\n")
		for i := range 5 {
			id := fmt.Sprintf("ui-%d", i)
			ui.API(t, "POST", "/v1/identify", map[string]any{"userId": id, "traits": map[string]any{"phone": fmt.Sprintf("(415) 555-01%02d", i)}}, nil)
			ui.API(t, "POST", "/v1/contacts/"+id+"/consent", map[string]any{"status": "subscribed", "source": "import"}, nil)
		}
		var rep flowReport
		deadline := time.Now().Add(60 * time.Second)
		for {
			ui.API(t, "GET", "/v1/flows/welcome/report", nil, &rep)
			if rep.Totals.Entered >= 5 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the welcome flow has %d runs after 60 s, want 5", rep.Totals.Entered)
			}
			time.Sleep(100 * time.Millisecond) // polling the engine's progress, not waiting for it
		}
		ui.API(t, "GET", "/v1/flows/welcome/report", nil, &rep)

		ui.Login(t)
		ui.Open(t, "/flows")
		var api struct {
			Flows []struct {
				ID, Name, Category, Status string
				Version, Priority          int
			} `json:"flows"`
		}
		ui.API(t, "GET", "/v1/flows", nil, &api)
		rows := browsertest.Eval[[]map[string]string](t, ui, `[...document.querySelectorAll("#flows tbody tr")].map(tr => {
			const o = {id: tr.dataset.flow, name: tr.querySelector(".flow-name").textContent,
				status: tr.querySelector(".status").textContent, version: tr.children[2].textContent, category: tr.children[3].textContent, priority: tr.children[4].textContent};
			tr.querySelectorAll("[data-k]").forEach(td => o[td.dataset.k] = td.textContent);
			return o;
		})`)
		if len(rows) != len(api.Flows) {
			t.Fatalf("the list shows %d flows, GET /v1/flows %d", len(rows), len(api.Flows))
		}
		for i, f := range api.Flows {
			got := rows[i]
			name := f.Name
			if name == "" {
				name = f.ID
			}
			priority := fmt.Sprint(f.Priority)
			want := map[string]string{"id": f.ID, "name": name, "status": f.Status, "version": fmt.Sprint(f.Version), "category": f.Category, "priority": priority}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("flow %s: the list shows %s %q, the API %q", f.ID, k, got[k], v)
				}
			}
			if f.ID == "welcome" {
				tot := rep.Totals
				for k, v := range map[string]string{"entered": fmt.Sprint(tot.Entered), "sent": fmt.Sprint(tot.Sent), "ctr": rate(tot.CTR),
					"opt_out_rate": rate(tot.OptOutRate), "conversions": fmt.Sprint(tot.Conversions), "revenue": fmt.Sprintf("%.2f", tot.Revenue)} {
					if got[k] != v {
						t.Errorf("welcome: the list shows %s %q, the report API %q", k, got[k], v)
					}
				}
			}
		}
		if n := browsertest.Eval[int](t, ui, `document.querySelectorAll('#flows tr[data-flow="welcome"] svg.spark polyline').length`); n != 1 {
			t.Errorf("the welcome flow has %d trend lines, want 1", n)
		}

		// The hostile name is text: no img element was made of it.
		if got := browsertest.Eval[string](t, ui, `document.querySelector('tr[data-flow="xss-flow"] .flow-name').textContent`); got != xssName {
			t.Errorf("the hostile flow name reads %q, want it as text %q", got, xssName)
		}
		if n := browsertest.Eval[int](t, ui, `document.querySelectorAll("main img").length`); n != 0 {
			t.Errorf("the page has %d img elements: a flow name became markup", n)
		}
		ui.Screenshot(t, "flows")
		ui.Axe(t)
		ui.NoConsoleErrors(t)

		// Resume the paused API flow, then pause it, with the buttons.
		for _, step := range []struct{ button, want string }{{"Resume", "active"}, {"Pause", "paused"}} {
			ui.Follow(t, chromedp.Click(chromedp.CSS(`tr[data-flow="xss-flow"] button[aria-label^="`+step.button+`"]`)))
			ui.Do(t, chromedp.WaitVisible(chromedp.CSS(`main p.notice`)))
			if got := ui.Text(t, `tr[data-flow="xss-flow"] .status`); got != step.want {
				t.Errorf("after %s the list shows %q, want %q", step.button, got, step.want)
			}
			var f struct{ Status string }
			ui.API(t, "GET", "/v1/flows/xss-flow", nil, &f)
			if f.Status != step.want {
				t.Errorf("after %s the API says %q, want %q", step.button, f.Status, step.want)
			}
		}
		if got := ui.Text(t, "main p.notice"); got != "Flow xss-flow paused." {
			t.Errorf("the notice after pausing reads %q", got)
		}
	})
}

// TestBrowserRefusals checks, against the real server, what a browser
// never sends: a state change without the CSRF token, a wrong key.
func TestBrowserRefusals(t *testing.T) {
	browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
		ui.Open(t, "/login")
		ui.Do(t, chromedp.SendKeys(chromedp.ID("key"), "ak_wrong"))
		ui.Follow(t, chromedp.Submit(chromedp.ID("key")))
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("login-error")))
		if got := ui.Text(t, "#login-error"); !strings.Contains(got, "not the admin key") {
			t.Errorf("a wrong key says %q, want it to say it is not the admin key", got)
		}
		if got := ui.Location(t); got != "/login" {
			t.Errorf("after a wrong key the browser is at %s, want still /login", got)
		}

		ui.Login(t)
		// The browser's own cookie, then a pause without the token.
		status := browsertest.Eval[int](t, ui, `fetch("/flows/welcome/pause", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: ""}).then(r => r.status)`)
		if status != http.StatusForbidden {
			t.Errorf("a pause without the CSRF token answers %d, want 403", status)
		}
		var f struct{ Status string }
		ui.API(t, "GET", "/v1/flows/welcome", nil, &f)
		if f.Status != "active" {
			t.Errorf("after a refused pause the welcome flow is %q, want active", f.Status)
		}
		status = browsertest.Eval[int](t, ui, `smsflow.fetch("/flows/welcome/pause", {method: "POST"}).then(r => r.status)`)
		if status != http.StatusOK { // the redirect to /flows, followed
			t.Errorf("a pause with the token (window.smsflow.fetch) answers %d, want 200 after the redirect", status)
		}

		resp, err := http.Get(ui.URL + "/flows")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
	})
}
