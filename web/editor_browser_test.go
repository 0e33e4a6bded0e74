package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/smsflow/smsflow/internal/browsertest"
	"github.com/smsflow/smsflow/store/storetest"
)

const editedFlow = `id: edit-me
name: Edit me
category: behavior
trigger:
  event: Signed Up
steps:
  - id: hello
    send: "Hi {{ contact.traits.first_name | default: \"there\" }}, welcome!"
  - wait: 1h
`

// setYAML replaces the editor's text as typing would (an input event).
func setYAML(t *testing.T, ui *browsertest.UI, src string) {
	t.Helper()
	js, _ := json.Marshal(src)
	browsertest.Eval[bool](t, ui, fmt.Sprintf(`(() => { const t = document.getElementById("yaml"); t.value = %s; t.dispatchEvent(new Event("input", {bubbles: true})); return true })()`, js))
}

// TestBrowserEditor creates a flow in the editor, makes a YAML error and
// sees it at its line, fixes it with a character GSM-7 lacks and sees it
// highlighted in the preview with its segments, and saves a new version.
func TestBrowserEditor(t *testing.T) {
	browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
		ui.Login(t)
		ui.Open(t, "/flows/new")
		setYAML(t, ui, editedFlow)
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("valid")), chromedp.Click(chromedp.ID("save")),
			chromedp.WaitVisible(chromedp.CSS(`p.notice[role="status"]`)))
		if got := ui.Location(t); got != "/flows/edit-me/edit?saved=1" {
			t.Fatalf("after creating the flow the browser is at %s, want its editor with saved=1", got)
		}

		// An error on line 9: the list says so, the gutter marks the line.
		setYAML(t, ui, strings.Replace(editedFlow, "wait: 1h", "wait: 2x", 1))
		ui.Do(t, chromedp.WaitVisible(chromedp.CSS(`#problems li.problem-error[data-line="9"]`)))
		if got := ui.Text(t, `#problems li.problem-error`); !strings.Contains(got, "Line 9, column 11") || !strings.Contains(got, "invalid duration") {
			t.Errorf("the error reads %q, want it at line 9, column 11 about the duration", got)
		}
		if got := browsertest.Eval[string](t, ui, `document.querySelector('#gutter span[data-line="9"]').className`); got != "mark-error" {
			t.Errorf("the gutter's line 9 has class %q, want mark-error", got)
		}
		if n := browsertest.Eval[int](t, ui, `document.querySelectorAll("#gutter .mark-error").length`); n != 1 {
			t.Errorf("%d lines marked as errors, want 1", n)
		}
		ui.Screenshot(t, "editor-error")

		// Fixed, with a ç (not in GSM-7): valid, previewed as UCS-2.
		fixed := strings.Replace(editedFlow, "welcome!", "ça va? Welcome!", 1)
		setYAML(t, ui, fixed)
		ui.Do(t, chromedp.WaitVisible(chromedp.ID("valid")))
		if got := ui.Text(t, `article.preview[data-step="hello"] mark.nongsm`); got != "ç" {
			t.Errorf("the highlighted character is %q, want ç", got)
		}
		measure := ui.Text(t, `article.preview[data-step="hello"] .measure`)
		if !strings.Contains(measure, "UCS-2") || !strings.Contains(measure, "1 segment") {
			t.Errorf("the preview's measure reads %q, want UCS-2 and 1 segment", measure)
		}
		if got := ui.Text(t, `article.preview[data-step="hello"] .bubble`); !strings.Contains(got, "Hi Ana, ça va?") || !strings.Contains(got, "Reply STOP to opt out.") {
			t.Errorf("the preview reads %q, want the sample contact's name and the compliance footer", got)
		}
		// An edited trait shows in the preview.
		ui.Do(t, chromedp.SetValue(chromedp.CSS(`input[name="trait_value"][value="Ana"]`), "Zoë"))
		browsertest.Eval[bool](t, ui, `document.querySelector('input[name="trait_value"]').form.dispatchEvent(new Event("input", {bubbles: true}))`)
		browsertest.Get(t, ui, chromedp.Poll[bool](`document.querySelector('article.preview[data-step="hello"] .bubble').textContent.includes("Zoë")`))
		ui.Screenshot(t, "editor")
		ui.Axe(t)

		ui.Follow(t, chromedp.Click(chromedp.ID("save")))
		ui.Do(t, chromedp.WaitVisible(chromedp.CSS(`p.notice[role="status"]`)))
		if got := ui.Text(t, `p.notice[role="status"]`); !strings.Contains(got, "version 2") || !strings.Contains(got, "paused") {
			t.Errorf("after saving the notice reads %q, want version 2 and paused", got)
		}
		var head struct {
			Version int    `json:"version"`
			Status  string `json:"status"`
		}
		ui.API(t, "GET", "/v1/flows/edit-me", nil, &head)
		if head.Version != 2 || head.Status != "paused" {
			t.Errorf("the API says version %d, %s; want 2, paused", head.Version, head.Status)
		}
		ui.Open(t, "/flows")
		if got := ui.Text(t, `tr[data-flow="edit-me"] td[data-label="Version"]`); got != "2" {
			t.Errorf("the flows list shows version %q, want 2", got)
		}

		// A bundled example is read-only.
		ui.Open(t, "/flows/welcome/edit")
		if got := ui.Text(t, "#read-only"); !strings.Contains(got, "read-only") {
			t.Errorf("the example's note reads %q", got)
		}
		if n := browsertest.Eval[int](t, ui, `document.querySelectorAll("#save").length`); n != 0 {
			t.Errorf("a read-only flow has a save button")
		}
		ui.NoConsoleErrors(t)
	})
}

// TestBrowserSettingsRotatesTheWriteKey shows the Twilio webhook URLs, says
// which key is configured, and rotates the write key: the new one is shown,
// and the old one still opens ingestion.
func TestBrowserSettingsRotatesTheWriteKey(t *testing.T) {
	if browsertest.Chromium() == "" {
		t.Skip(browsertest.SkipMessage)
	}
	for db, dsn := range map[string]func(*testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "smsflow.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	} {
		t.Run(db, func(t *testing.T) {
			srv := browsertest.StartServer(t, db, dsn(t), "",
				"SMSFLOW_PROVIDER=twilio", "SMSFLOW_TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000", "SMSFLOW_TWILIO_AUTH_TOKEN=test",
				"SMSFLOW_TWILIO_FROM=+14155550100", "SMSFLOW_PUBLIC_URL=http://sms.example.com", "SMSFLOW_SERVER_KEY=sk_configured_in_env")
			ui := browsertest.NewUI(t, srv)
			ui.Login(t)
			ui.Open(t, "/settings")
			hooks := ui.Text(t, "#webhooks")
			for _, want := range []string{"http://sms.example.com/webhooks/twilio/inbound", "http://sms.example.com/webhooks/twilio/status"} {
				if !strings.Contains(hooks, want) {
					t.Errorf("the webhooks read %q, want %s", hooks, want)
				}
			}
			if got := ui.Text(t, `tr[data-key-name="server"] td[data-label="Set in"]`); !strings.Contains(got, "SMSFLOW_SERVER_KEY") || !strings.Contains(got, "cannot be rotated") {
				t.Errorf("the server key's row says %q, want where it is set and that it cannot be rotated", got)
			}
			if n := browsertest.Eval[int](t, ui, `document.querySelectorAll('form[action="/settings/keys/server/rotate"]').length`); n != 0 {
				t.Errorf("the configured server key has a rotate button")
			}
			if got := ui.Text(t, "#key-write"); strings.Contains(got, srv.WriteKey) {
				t.Errorf("the write key is shown in full before Show: %q", got)
			}
			ui.Do(t, chromedp.Click(chromedp.CSS(`button[data-reveal="key-write"]`)))
			if got := ui.Text(t, "#key-write"); got != srv.WriteKey {
				t.Errorf("after Show the write key reads %q, want %q", got, srv.WriteKey)
			}
			ui.Screenshot(t, "settings")
			ui.Axe(t)

			browsertest.Eval[bool](t, ui, `(window.confirm = () => true, true)`)
			ui.Follow(t, chromedp.Click(chromedp.CSS(`form[action="/settings/keys/write/rotate"] button`)))
			ui.Do(t, chromedp.WaitVisible(chromedp.ID("new-key")))
			newKey := ui.Text(t, "#new-key")
			if !strings.HasPrefix(newKey, "wk_") || newKey == srv.WriteKey {
				t.Fatalf("the new write key reads %q (old %q)", newKey, srv.WriteKey)
			}
			if got := ui.Text(t, "#rotated-note"); !strings.Contains(got, "keeps working for 24 hours") {
				t.Errorf("the rotation note reads %q, want it to say the old key works for 24 hours", got)
			}
			for _, k := range []string{srv.WriteKey, newKey} {
				if got := track(t, srv.URL, k); got != http.StatusOK {
					t.Errorf("ingestion with %s… after the rotation: %d, want 200", k[:6], got)
				}
			}
			if got := track(t, srv.URL, "wk_not_a_key"); got != http.StatusUnauthorized {
				t.Errorf("ingestion with a wrong key: %d, want 401", got)
			}
			ui.NoConsoleErrors(t)
		})
	}
}

func track(t *testing.T, base, key string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/track", strings.NewReader(`{"userId":"ana","event":"Viewed"}`))
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestBrowserProgram reads the program page's totals against the report
// API's, after one opt-in.
func TestBrowserProgram(t *testing.T) {
	browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
		ui.API(t, "POST", "/v1/identify", map[string]any{"userId": "ana", "traits": map[string]any{"phone": "+14155550123"}}, nil)
		ui.API(t, "POST", "/v1/contacts/ana/consent", map[string]any{"status": "subscribed", "source": "web_form", "evidence": map[string]any{"url": "https://glow.example/join"}}, nil)
		var rep struct {
			Subscribers    int64 `json:"subscribers"`
			NewSubscribers int64 `json:"new_subscribers"`
		}
		ui.API(t, "GET", "/v1/reports/program", nil, &rep)
		if rep.Subscribers != 1 || rep.NewSubscribers != 1 {
			t.Fatalf("the report API says %d subscribers, %d new; want 1 and 1", rep.Subscribers, rep.NewSubscribers)
		}
		ui.Login(t)
		ui.Open(t, "/program")
		if got := ui.Text(t, "#subscribers"); got != "1" {
			t.Errorf("the page shows %q subscribers, want 1 as the API", got)
		}
		if got := ui.Text(t, "#new-subscribers"); got != "1" {
			t.Errorf("the page shows %q new opt-ins, want 1 as the API", got)
		}
		if n := browsertest.Eval[int](t, ui, `document.querySelectorAll("#growth-chart rect.b-in").length`); n != 1 {
			t.Errorf("the growth chart has %d opt-in bars, want 1", n)
		}
		ui.Screenshot(t, "program")
		ui.Axe(t)
		ui.NoConsoleErrors(t)
	})
}
