package web_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/smsflow/smsflow/internal/browsertest"
	"github.com/smsflow/smsflow/store/storetest"
)

// eachWith is browsertest.Each on a server started with env added.
func eachWith(t *testing.T, env []string, fn func(t *testing.T, ui *browsertest.UI)) {
	t.Helper()
	if browsertest.Chromium() == "" {
		t.Skip(browsertest.SkipMessage)
	}
	for db, dsn := range map[string]func(*testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "smsflow.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	} {
		t.Run(db, func(t *testing.T) {
			srv := browsertest.StartServer(t, db, dsn(t), "", env...)
			fn(t, browsertest.NewUI(t, srv))
		})
	}
}

// untilTimeline waits (polling the API, bounded) for a timeline entry of
// the contact whose JSON contains want: the engine works in the background.
func untilTimeline(t *testing.T, ui *browsertest.UI, contact, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out struct {
			Items []struct {
				Type, Name string
			} `json:"items"`
		}
		ui.API(t, "GET", "/v1/contacts/"+contact+"/timeline", nil, &out)
		for _, it := range out.Items {
			if strings.Contains(it.Type+" "+it.Name, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %s's timeline after 30 s: %+v", want, contact, out.Items)
		}
		time.Sleep(100 * time.Millisecond) // polling the engine's result, bounded by the deadline
	}
}

// TestBrowserContactTimeline finds a contact by a differently formatted
// number and reads a quiet-hours deferral in words in its timeline; the
// XSS trait renders as text.
func TestBrowserContactTimeline(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no time zone data")
	}
	// An allowed window an hour long that the current hour in Chicago is
	// not in: a marketing text now is deferred to its start.
	window, start := "20:00-21:00", "20:00"
	if h := time.Now().In(chicago).Hour(); h >= 12 {
		window, start = "03:00-04:00", "03:00"
	}
	env := []string{"SMSFLOW_QUIET_HOURS_ALLOWED=" + window, "SMSFLOW_QUIET_HOURS_STATE_RULES=false"}
	eachWith(t, env, func(t *testing.T, ui *browsertest.UI) {
		ui.API(t, "POST", "/v1/identify", map[string]any{"userId": "chi", "traits": map[string]any{
			"phone": "+1 312 555 0101", "timezone": "America/Chicago", "first_name": "Chi",
			"nickname": "<img src=x onerror=alert(1)>"}}, nil)
		ui.API(t, "POST", "/v1/contacts/chi/consent", map[string]any{"status": "subscribed", "source": "web_form",
			"evidence": map[string]any{"form": "footer"}}, nil)
		ui.API(t, "POST", "/v1/track", map[string]any{"userId": "chi", "event": "Back in Stock",
			"properties": map[string]any{"inventory": 5, "product_id": "fig", "name": "Lip Glaze"}}, nil)
		untilTimeline(t, ui, "chi", "deferred:quiet_hours")

		ui.Login(t)
		ui.Open(t, "/contacts")
		ui.Do(t, chromedp.SendKeys(chromedp.ID("q"), "(312) 555-0101"))
		ui.Screenshot(t, "contacts")
		ui.Follow(t, chromedp.Submit(chromedp.ID("q")))
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("timeline")))
		if got := ui.Location(t); got != "/contacts/chi" {
			t.Fatalf("the search went to %s, want /contacts/chi", got)
		}
		tl := ui.Text(t, "#timeline")
		if want := "deferred: quiet hours until " + start + " America/Chicago"; !strings.Contains(tl, want) {
			t.Errorf("the timeline has no %q:\n%s", want, tl)
		}
		if !strings.Contains(ui.Text(t, "#consent-status"), "subscribed") || !strings.Contains(ui.Text(t, "#ledger"), "footer") {
			t.Error("the consent status or the ledger's evidence is missing")
		}
		if got := ui.Text(t, "#traits"); !strings.Contains(got, "<img src=x onerror=alert(1)>") {
			t.Errorf("the XSS trait is not shown as text: %s", got)
		}
		if n := browsertest.Eval[int](t, ui, `document.querySelectorAll("main img").length`); n != 0 {
			t.Errorf("%d img elements on the contact's page: a trait became markup", n)
		}
		ui.Screenshot(t, "contact")
		ui.Axe(t)
		ui.NoConsoleErrors(t)
	})
}

// TestBrowserInboxConsoleMessages answers an inbox message and sees it in
// the live console, sees a text sent while the page is open appear without
// a reload, and filters the messages by status.
func TestBrowserInboxConsoleMessages(t *testing.T) {
	browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
		ui.API(t, "POST", "/v1/console/inbound", map[string]any{"from": "+1 415 555 0123", "body": "Is my order on its way?"}, nil)
		ui.Login(t)
		ui.Open(t, "/inbox")
		if got := ui.Text(t, "#conversations"); !strings.Contains(got, "Is my order on its way?") {
			t.Fatalf("the inbox does not list the text: %s", got)
		}
		ui.Screenshot(t, "inbox")
		ui.Axe(t)

		ui.Follow(t, chromedp.Click(chromedp.CSS("#conversations a")))
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("reply")))
		// The page after the post says the reply is queued (the page before
		// has a console too: wait for the new one).
		ui.Do(t, chromedp.SendKeys(chromedp.ID("reply"), "Yes: it ships today."))
		ui.Follow(t, chromedp.Submit(chromedp.ID("reply")))
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("reply-sent")))
		// The reply goes out through the outbox and the console provider.
		ui.Do(t, chromedp.Poll[chromedp.Void](`document.querySelector("#console").textContent.includes("Yes: it ships today.")`,
			chromedp.WithPollingTimeout(30*time.Second)))
		// Live: a text sent while the page stays open appears in it.
		before := browsertest.Eval[int](t, ui, `document.querySelectorAll("#console li").length`)
		ui.API(t, "POST", "/v1/console/inbound", map[string]any{"from": "+1 415 555 0123", "body": "HELP"}, nil)
		ui.Do(t, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll("#console li").length > %d`, before),
			chromedp.WithPollingTimeout(30*time.Second)))
		if got := ui.Text(t, "#thread"); !strings.Contains(got, "conversation:admin") {
			t.Errorf("the thread does not show who sent the reply: %s", got)
		}
		// Opened again, the thread says what took the HELP text.
		ui.Open(t, "/inbox/"+url.PathEscape("phone:+14155550123"))
		if got := ui.Text(t, "#thread"); !strings.Contains(got, "answered as the HELP keyword") {
			t.Errorf("the thread does not say the HELP keyword took the text: %s", got)
		}
		ui.Screenshot(t, "inbox-thread")
		ui.Axe(t)
		ui.NoConsoleErrors(t)

		// HELP is a keyword: the inbox keeps showing the contact's last
		// text that nothing answered (D100).
		ui.Open(t, "/inbox")
		if got := ui.Text(t, "#conversations"); !strings.Contains(got, "Is my order on its way?") || strings.Contains(got, "HELP") {
			t.Errorf("after HELP the inbox shows %q, want the question and not the keyword", got)
		}

		ui.Open(t, "/messages")
		ui.Do(t, chromedp.SetValue(chromedp.ID("f-status"), "received"))
		ui.Follow(t, chromedp.Submit(chromedp.ID("f-status")))
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("messages")))
		statuses := browsertest.Eval[[]string](t, ui, `Array.from(document.querySelectorAll("#messages tbody tr")).map(r => r.dataset.status)`)
		if len(statuses) != 2 {
			t.Errorf("status received shows %d messages, want the 2 texts in", len(statuses))
		}
		for _, s := range statuses {
			if s != "received" {
				t.Errorf("status received shows a %s message", s)
			}
		}
		ui.Screenshot(t, "messages")
		ui.Axe(t)
		ui.NoConsoleErrors(t)
	})
}
