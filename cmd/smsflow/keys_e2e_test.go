package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/store/storetest"
)

// The write-key attack of the hardening issue, through the real binary and
// the bundled shipping-update flow: identify a stranger's number, then
// "Shipment Updated" with the attacker's order_id, carrier and link.
const attackEvent = `{"userId":"mallory-%d","event":"Shipment Updated","properties":{"status":"shipped",` +
	`"order_id":"1 - URGENT: your account is locked","carrier":"FedEx. Verify your card","tracking_url":"https://evil.example/verify"}}`

func TestWriteKeyAttackEndToEnd(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			s := startServer(t, dsn)
			if s.serverKey == "" || strings.HasSuffix(s.serverKey, "…") || s.serverKey == s.writeKey {
				t.Fatalf("server key in the banner: %q", s.serverKey)
			}
			banner := strings.Join(s.banner, "\n")
			if !strings.Contains(banner, "warning:") || !strings.Contains(banner, "shipping-update") || !strings.Contains(banner, "server key") {
				t.Errorf("no warning about service flows while the server key is unused:\n%s", banner)
			}
			wk, sk, ak := "basic:"+s.writeKey, "basic:"+s.serverKey, "bearer:"+s.adminKY

			// Six texts to a never-consented number, with the write key.
			if r := call(t, "POST", s.url+"/v1/identify", wk, `{"userId":"mallory-1","traits":{"phone":"(415) 555-0166"}}`); r.status != 200 {
				t.Fatalf("identify: %d %s", r.status, r.raw)
			}
			for range 6 {
				if r := call(t, "POST", s.url+"/v1/track", wk, fmt.Sprintf(attackEvent, 1)); r.status != 200 {
					t.Fatalf("track: %d %s", r.status, r.raw)
				}
			}
			decisions := func(contact string) []string {
				var out []string
				for _, it := range call(t, "GET", s.url+"/v1/contacts/"+contact+"/timeline", ak, "").body["items"].([]any) {
					m := it.(map[string]any)
					switch m["type"] {
					case "decision":
						// The bundled examples' other flows decide too (the
						// birthday flow: skipped:no_date): the attack is on
						// shipping-update.
						if m["data"].(map[string]any)["flow"] == "shipping-update" {
							out = append(out, m["name"].(string))
						}
					case "event":
						if data := m["data"].(map[string]any); data["trust"] != "public" {
							t.Errorf("event %v of the write key on the timeline: %v, want trust public", m["name"], data)
						}
					}
				}
				return out
			}
			waitFor(t, "six decisions for the write key's events", func() bool { return len(decisions("mallory-1")) == 6 })
			for _, d := range decisions("mallory-1") {
				if d != "skipped:untrusted_source" {
					t.Errorf("decision %s, want skipped:untrusted_source", d)
				}
			}
			if msgs := call(t, "GET", s.url+"/v1/messages?contact=mallory-1", ak, "").body["messages"].([]any); len(msgs) != 0 {
				t.Errorf("the write key texted a stranger: %v", msgs)
			}
			// The engine counts a decision right after its commit, so the
			// timeline can show it a moment before /metrics does.
			waitFor(t, "/metrics to count the six skips", func() bool {
				metrics := call(t, "GET", s.url+"/metrics", ak, "").raw
				return strings.Contains(metrics, `smsflow_decisions_total{decision="skipped:untrusted_source"} 6`)
			})

			// The back end, with the server key, texts its customer; the
			// link the event carries is its own, so it is tracked.
			if r := call(t, "POST", s.url+"/v1/identify", sk, `{"userId":"ana","traits":{"phone":"(415) 555-0100"}}`); r.status != 200 {
				t.Fatalf("identify: %d %s", r.status, r.raw)
			}
			call(t, "POST", s.url+"/v1/track", sk, `{"userId":"ana","event":"Shipment Updated","properties":{"status":"shipped","order_id":"1001","carrier":"UPS","tracking_url":"https://ups.example/t/1001"}}`)
			var body string
			waitFor(t, "the shipping text", func() bool {
				msgs := call(t, "GET", s.url+"/v1/messages?contact=ana", ak, "").body["messages"].([]any)
				if len(msgs) == 0 {
					return false
				}
				body = msgs[0].(map[string]any)["body"].(string)
				return true
			})
			if !strings.Contains(body, "your order #1001 is on its way with UPS. Track it: "+s.url+"/l/") {
				t.Errorf("body %q", body)
			}

			// With the write key, ana's number cannot be re-pointed, and
			// the answer is the one any call gets.
			if r := call(t, "POST", s.url+"/v1/identify", wk, `{"userId":"ana","traits":{"phone":"(415) 555-0166"}}`); r.status != 200 || r.raw != "{\"success\":true}\n" {
				t.Errorf("re-point with the write key: %d %s", r.status, r.raw)
			}
			if r := call(t, "GET", s.url+"/v1/contacts/ana", ak, ""); r.body["phone"] != "+14155550100" || r.body["phone_verified"] != true {
				t.Errorf("ana after the write key: %s", r.raw)
			}

			// The server key was used: the next start does not warn, and
			// `smsflow keys` prints it.
			s.kill()
			s2 := startServer(t, dsn)
			if banner := strings.Join(s2.banner, "\n"); strings.Contains(banner, "warning:") {
				t.Errorf("warning after the server key was used:\n%s", banner)
			}
			s2.kill()
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"keys", "--db", dsn}, &out, &errb); code != 0 || !strings.Contains(out.String(), "server key: "+s.serverKey+"\n") {
				t.Errorf("smsflow keys: exit %d\n%s%s", code, out.String(), errb.String())
			}
		})
	}
}

// TestIngestLimitFromEnvironment: limits.* follow the configuration's
// environment rule, and a limited write key gets 429 with Retry-After.
func TestIngestLimitFromEnvironment(t *testing.T) {
	s := startServer(t, storetest.DSNs(t)["sqlite"], "SMSFLOW_LIMITS_INGEST_PER_IP=2/m")
	statuses := []int{}
	var last reply
	for i := range 3 {
		last = call(t, "POST", s.url+"/v1/track", "basic:"+s.writeKey, fmt.Sprintf(`{"anonymousId":"v","event":"E","messageId":"m-%d"}`, i))
		statuses = append(statuses, last.status)
	}
	if fmt.Sprint(statuses) != "[200 200 429]" || last.errCode() != "rate_limited" {
		t.Errorf("statuses %v, last %s", statuses, last.raw)
	}
	// The server key is not limited per address.
	if r := call(t, "POST", s.url+"/v1/track", "basic:"+s.serverKey, `{"anonymousId":"v","event":"E"}`); r.status != 200 {
		t.Errorf("server key: %d %s", r.status, r.raw)
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
