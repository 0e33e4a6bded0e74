package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store/storetest"
)

var linkRe = regexp.MustCompile(`/l/([A-Za-z0-9]+)`)

// waitFor polls the admin API (bounded) until cond holds: the engine works
// asynchronously in the server process.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFlowsThroughTheAPI(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			s := startServer(t, dsn, "SMSFLOW_WRITE_KEY=wk_f", "SMSFLOW_SERVER_KEY=sk_f", "SMSFLOW_ADMIN_KEY=ak_f")
			ak := "bearer:ak_f"
			// The bundled examples are file flows: read-only through the API.
			if r := call(t, "PUT", s.url+"/v1/flows/welcome", ak, "id: welcome\n"); r.status != 409 {
				t.Errorf("PUT over a file flow: %d %s", r.status, r.raw)
			}
			src := `id: order-thanks
category: service
trigger:
  event: Order Completed
steps:
  - id: thanks
    send: "Thanks {{ contact.traits.first_name | default: 'friend' }}! Track it: {{ 'https://glow.example/o' | track }}"
  - wait: {reply: true, timeout: 1d}
  - if: 'reply.text == "YES"'
    then:
      - id: yes
        send: "Great, see you soon."
`
			r := call(t, "PUT", s.url+"/v1/flows/order-thanks", ak, src, "Content-Type", "application/yaml")
			if r.status != 201 || r.body["flow"].(map[string]any)["status"] != "paused" {
				t.Fatalf("create: %d %s", r.status, r.raw)
			}
			if r := call(t, "PUT", s.url+"/v1/flows/order-thanks", ak, src); r.status != 200 || r.body["new_version"] != false {
				t.Errorf("identical PUT: %d %s", r.status, r.raw)
			}
			r = call(t, "PUT", s.url+"/v1/flows/order-thanks", ak, strings.Replace(src, "wait: {reply", "wiat: {reply", 1))
			if r.status != 400 || !strings.Contains(r.raw, `order-thanks.yaml:8:5: unknown key \"wiat\"`) {
				t.Errorf("invalid PUT: %d %s", r.status, r.raw)
			}
			if r := call(t, "POST", s.url+"/v1/flows/order-thanks/resume", ak, ""); r.status != 200 || r.body["status"] != "active" {
				t.Fatalf("resume: %d %s", r.status, r.raw)
			}

			call(t, "POST", s.url+"/v1/identify", "basic:sk_f", `{"userId":"ana","traits":{"phone":"415-555-0100","first_name":"Ana"}}`)
			call(t, "POST", s.url+"/v1/track", "basic:sk_f", `{"userId":"ana","event":"Order Completed","properties":{"order_id":"9"}}`)
			var body string
			waitFor(t, "the thank-you text", func() bool {
				r := call(t, "GET", s.url+"/v1/messages?flow=order-thanks", ak, "")
				msgs := r.body["messages"].([]any)
				if len(msgs) == 0 {
					return false
				}
				body = msgs[0].(map[string]any)["body"].(string)
				return true
			})
			if !strings.HasPrefix(body, "Thanks Ana! Track it: "+s.url+"/l/") {
				t.Errorf("body %q", body)
			}
			// The tracked link redirects and records the click.
			code := linkRe.FindStringSubmatch(body)[1]
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Get(s.url + "/l/" + code)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://glow.example/o" {
				t.Errorf("link: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			if resp, _ := client.Get(s.url + "/l/nope123"); resp.StatusCode != 404 {
				t.Errorf("unknown link: %d", resp.StatusCode)
			}
			// A reply by text (console) answers the reply wait.
			if r := call(t, "POST", s.url+"/v1/console/inbound", ak, `{"from":"(415) 555-0100","body":"YES"}`); r.status != 201 {
				t.Fatalf("inbound: %d %s", r.status, r.raw)
			}
			waitFor(t, "the answer to YES", func() bool {
				r := call(t, "GET", s.url+"/v1/messages?flow=order-thanks", ak, "")
				return len(r.body["messages"].([]any)) == 2
			})
			tl := call(t, "GET", s.url+"/v1/contacts/ana/timeline", ak, "")
			var kinds []string
			for _, it := range tl.body["items"].([]any) {
				m := it.(map[string]any)
				kinds = append(kinds, m["type"].(string)+":"+m["name"].(string))
			}
			for _, want := range []string{"event:Link Clicked", "message:inbound", "event:Message Replied", "decision:sent", "message:outbound"} {
				if !strings.Contains(strings.Join(kinds, ","), want) {
					t.Errorf("timeline lacks %s: %v", want, kinds)
				}
			}
			if r := call(t, "DELETE", s.url+"/v1/flows/order-thanks", ak, ""); r.status != 200 {
				t.Errorf("delete: %d %s", r.status, r.raw)
			}
			if r := call(t, "GET", s.url+"/v1/flows/order-thanks", ak, ""); r.status != 404 {
				t.Errorf("deleted flow still served: %d", r.status)
			}
		})
	}
}
