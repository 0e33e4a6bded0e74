package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider/httpgw"
	"github.com/smsflow/smsflow/store/storetest"
)

const fakeService = "MG0123456789abcdef0123456789abcdef"

// sendersFlow sends three texts, each from another sender.
const sendersFlow = `id: order-senders
category: service
trigger:
  event: Order Completed
steps:
  - id: thanks
    send: "Thanks for your order {{ event.properties.order_id | default: \"\" }}!"
  - id: service
    send:
      from: ` + fakeService + `
      template: "Your order ships soon."
  - id: local
    send:
      from: "+1 (415) 555-0199"
      template: "Questions? Reply here."
`

// sendersYAML configures twilio with three senders, the first the default.
const sendersYAML = `provider: twilio
twilio:
  senders:
    - {from: "+15005550006", rate: 50/s}
    - {messaging_service_sid: ` + fakeService + `, rate: 30/s}
    - {from: "+14155550199", rate: 10/s, daily_cap: 1000}
`

// startWithFlows starts the app with cfg and a flows directory holding the
// given files.
func startWithFlows(t *testing.T, dsn string, cfg config.Config, files map[string]string, outcomes chan smsflow.Message) (*app, error) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg.DB, cfg.Addr, cfg.Flows = dsn, "127.0.0.1:0", dir
	cfg.WriteKey, cfg.ServerKey, cfg.AdminKey = "wk_p", "sk_p", "ak_p"
	cfg.PublicURL = fakePublic
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := startAppWith(context.Background(), cfg, log, appOptions{
		Retry:     &delivery.Retry{Base: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 3},
		OnOutcome: func(m smsflow.Message) { outcomes <- m },
	})
	if err == nil {
		t.Cleanup(a.Stop)
	}
	return a, err
}

// loadConfig reads a configuration as serve does.
func loadConfig(t *testing.T, yaml string) config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smsflow.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestTwilioSendsFromEachStepsSender: with twilio.senders, each send step's
// message reaches Twilio from the sender its from: names — From for a
// number (written in any format), MessagingServiceSid for a Messaging
// Service, the first sender without from: — and the message records it.
func TestTwilioSendsFromEachStepsSender(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			fake := newFakeTwilioAPI(t)
			cfg := loadConfig(t, sendersYAML)
			cfg.Twilio.AccountSID, cfg.Twilio.AuthToken, cfg.Twilio.APIBase = fakeSID, fakeToken, fake.URL()
			w := &providerWorld{t: t, outcomes: make(chan smsflow.Message, 100)}
			a, err := startWithFlows(t, dsn, cfg, map[string]string{"order-senders.yaml": sendersFlow}, w.outcomes)
			if err != nil {
				t.Fatal(err)
			}
			w.app = a
			const ana = "+14155550100"
			w.order("ana", ana, "1001")
			want := map[string][2]string{ // step → From, MessagingServiceSid
				"thanks": {"+15005550006", ""}, "service": {"", fakeService}, "local": {"+14155550199", ""},
			}
			for step := range want {
				w.outcome("ana", step, smsflow.MessageSent)
			}
			forms := sentTo(fake, ana)
			if len(forms) != 3 {
				t.Fatalf("Twilio got %d requests, want 3", len(forms))
			}
			for _, f := range forms {
				var step string
				switch f.Get("Body") {
				case "Thanks for your order 1001!":
					step = "thanks"
				case "Your order ships soon.":
					step = "service"
				case "Questions? Reply here.":
					step = "local"
				}
				if got := [2]string{f.Get("From"), f.Get("MessagingServiceSid")}; got != want[step] {
					t.Errorf("step %q went to Twilio with From/MessagingServiceSid %q, want %q", step, got, want[step])
				}
			}
			r := call(t, "GET", a.URL()+"/v1/messages?contact=ana", "bearer:ak_p", "")
			msgs, _ := r.body["messages"].([]any)
			for _, x := range msgs {
				m := x.(map[string]any)
				s := want[m["step_id"].(string)]
				if m["sender"] != s[0]+s[1] {
					t.Errorf("GET /v1/messages: step %s has sender %v, want %s", m["step_id"], m["sender"], s[0]+s[1])
				}
			}
			// Each sender paces on its own row.
			for _, key := range []string{"twilio:+15005550006", "twilio:" + fakeService, "twilio:+14155550199"} {
				st, err := a.db.Pacing(context.Background(), key)
				if err != nil || st.NextFree.IsZero() {
					t.Errorf("pacing row %s: %+v, %v", key, st, err)
				}
			}

			// PUT /v1/flows refuses a from: that names no configured sender,
			// at its line and column, listing the senders.
			bad := strings.Replace(sendersFlow, "id: order-senders", "id: other", 1)
			bad = strings.Replace(bad, `"+1 (415) 555-0199"`, `"+14155550198"`, 1)
			r = call(t, "PUT", a.URL()+"/v1/flows/other", "bearer:ak_p", bad, "Content-Type", "application/yaml")
			if r.status != 400 || !strings.Contains(r.raw, "other.yaml:14:13") || !strings.Contains(r.raw, "+14155550198") ||
				!strings.Contains(r.raw, "+15005550006 (default)") || !strings.Contains(r.raw, fakeService) {
				t.Errorf("PUT with an unknown from: %d %s", r.status, r.raw)
			}
		})
	}
}

// TestServeRefusesAFlowFileWithAnUnknownSender: serve does not start with a
// flow file whose from: names no configured sender.
func TestServeRefusesAFlowFileWithAnUnknownSender(t *testing.T) {
	cfg := loadConfig(t, sendersYAML)
	cfg.Twilio.AccountSID, cfg.Twilio.AuthToken, cfg.Twilio.APIBase = fakeSID, fakeToken, "http://127.0.0.1:1"
	bad := strings.Replace(sendersFlow, fakeService, "MG99999999999999999999999999999999", 1)
	_, err := startWithFlows(t, "sqlite:"+filepath.Join(t.TempDir(), "smsflow.db"), cfg, map[string]string{"order-senders.yaml": bad}, make(chan smsflow.Message, 10))
	if err == nil || !strings.Contains(err.Error(), "order-senders.yaml:10:13") || !strings.Contains(err.Error(), "MG99999999999999999999999999999999") {
		t.Errorf("serve with an unknown sender in a flow file: %v", err)
	}
}

// TestValidateChecksSendersAgainstTheConfiguration: validate knows the
// configuration the flows run under (--config, a smsflow.yaml among its
// paths, the environment) and refuses an unknown from: with file:line:col
// and the senders configured; without one (console), any from: passes.
func TestValidateChecksSendersAgainstTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	flowPath := filepath.Join(dir, "order-senders.yaml")
	bad := strings.Replace(sendersFlow, `"+1 (415) 555-0199"`, `"+14155550198"`, 1)
	if err := os.WriteFile(flowPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "smsflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(sendersYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	validate := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"validate"}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	for _, args := range [][]string{{"--config", cfgPath, flowPath}, {cfgPath, flowPath}} {
		code, out := validate(args...)
		if code != 1 || !strings.Contains(out, flowPath+":14:13: send from \"+14155550198\" is not one of the configured twilio senders (+15005550006 (default), "+fakeService+", +14155550199)") {
			t.Errorf("validate %v: exit %d\n%s", args, code, out)
		}
	}
	if code, out := validate(flowPath); code != 0 {
		t.Errorf("validate without a configuration (console: any from:): exit %d\n%s", code, out)
	}
	// The environment is part of the configuration.
	t.Setenv("SMSFLOW_PROVIDER", "twilio")
	t.Setenv("SMSFLOW_TWILIO_FROM", "+15005550006")
	if code, out := validate(flowPath); code != 1 || !strings.Contains(out, "+15005550006 (default)") {
		t.Errorf("validate with SMSFLOW_TWILIO_FROM: exit %d\n%s", code, out)
	}
	good := strings.Replace(bad, `"+14155550198"`, `"+1 415 555 0199"`, 1)
	if err := os.WriteFile(flowPath, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	// The configuration itself is checked as serve checks it (issue 17):
	// its credentials (here from the environment), and no single-sender key
	// beside the senders list.
	if code, out := validate("--config", cfgPath, flowPath); code != 1 || !strings.Contains(out, "twilio.account_sid is empty") ||
		!strings.Contains(out, "twilio.senders and twilio.from (SMSFLOW_TWILIO_FROM) are both set") {
		t.Errorf("validate with a configuration serve would refuse: exit %d\n%s", code, out)
	}
	os.Unsetenv("SMSFLOW_TWILIO_FROM") // restored by t.Setenv's cleanup
	t.Setenv("SMSFLOW_TWILIO_ACCOUNT_SID", fakeSID)
	t.Setenv("SMSFLOW_TWILIO_AUTH_TOKEN", fakeToken)
	t.Setenv("SMSFLOW_PUBLIC_URL", fakePublic)
	if code, out := validate("--config", cfgPath, flowPath); code != 0 {
		t.Errorf("validate with every from: configured: exit %d\n%s", code, out)
	}
}

// TestHTTPGatewayGetsTheSender: with http.senders the gateway's JSON
// carries "from", the step's sender or the first.
func TestHTTPGatewayGetsTheSender(t *testing.T) {
	var mu sync.Mutex
	froms := map[string]string{} // body → from
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get(httpgw.SignatureHeader) == "" {
			w.WriteHeader(401)
			return
		}
		var m struct{ ID, From, Body string }
		json.Unmarshal(b, &m)
		mu.Lock()
		froms[m.Body] = m.From
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"gw-`+m.ID+`"}`)
	}))
	defer gw.Close()
	cfg := loadConfig(t, "provider: http\nhttp:\n  senders:\n    - {from: \"+15005550006\"}\n    - {from: \""+fakeService+"\"}\n    - {from: \"+14155550199\"}\n")
	cfg.HTTP.URL, cfg.HTTP.Secret = gw.URL, gwSecret
	w := &providerWorld{t: t, outcomes: make(chan smsflow.Message, 100)}
	a, err := startWithFlows(t, "sqlite:"+filepath.Join(t.TempDir(), "smsflow.db"), cfg, map[string]string{"order-senders.yaml": sendersFlow}, w.outcomes)
	if err != nil {
		t.Fatal(err)
	}
	w.app = a
	w.order("ana", "+14155550100", "1001")
	for _, step := range []string{"thanks", "service", "local"} {
		w.outcome("ana", step, smsflow.MessageSent)
	}
	mu.Lock()
	defer mu.Unlock()
	for body, want := range map[string]string{"Thanks for your order 1001!": "+15005550006", "Your order ships soon.": fakeService, "Questions? Reply here.": "+14155550199"} {
		if froms[body] != want {
			t.Errorf("the gateway got %q from %q, want %q", body, froms[body], want)
		}
	}
}
