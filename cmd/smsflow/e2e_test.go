package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// binary is the real smsflow binary, built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "smsflow-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "smsflow")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build smsflow: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running smsflow process.
type server struct {
	cmd               *exec.Cmd
	url               string
	writeKey, adminKY string
	stderr            *bytes.Buffer
	exited            chan struct{}
}

var (
	urlRe   = regexp.MustCompile(`listening on (http://\S+)`)
	writeRe = regexp.MustCompile(`write key: (\S+)`)
	adminRe = regexp.MustCompile(`admin key: (\S+)`)
)

// startServer runs `smsflow serve` on port 0 and waits for its banner. keys,
// when given, are passed through the environment.
func startServer(t *testing.T, dsn string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--db", dsn)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = &syncWriter{w: s.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.kill() })
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		if m := urlRe.FindStringSubmatch(line); m != nil {
			s.url = m[1]
		}
		if m := writeRe.FindStringSubmatch(line); m != nil {
			s.writeKey = m[1]
		}
		if m := adminRe.FindStringSubmatch(line); m != nil {
			s.adminKY = strings.TrimSuffix(m[1], "…")
		}
		if strings.Contains(line, "try: curl") {
			break
		}
	}
	if s.url == "" {
		t.Fatalf("server did not start; stderr:\n%s", s.stoppedLog())
	}
	go io.Copy(io.Discard, stdout)
	return s
}

func (s *server) kill() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

// call makes one HTTP request. auth is "basic:KEY", "bearer:KEY" or "".
func call(t *testing.T, method, url, auth, body string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	kind, key, _ := strings.Cut(auth, ":")
	switch kind {
	case "basic":
		req.SetBasicAuth(key, "")
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(b)}
	json.Unmarshal(b, &r.body)
	return r
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r reply) errField() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["field"].(string)
	return c
}

func TestServeEndToEnd(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			s := startServer(t, dsn)
			wk, ak := "basic:"+s.writeKey, "bearer:"+s.adminKY
			expect := func(r reply, status int, what string) {
				t.Helper()
				if r.status != status {
					t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
				}
			}
			expect(call(t, "GET", s.url+"/healthz", "", ""), 200, "healthz")
			expect(call(t, "GET", s.url+"/readyz", "", ""), 200, "readyz")

			// Identify with a phone in a local format, then track.
			expect(call(t, "POST", s.url+"/v1/identify", wk, `{"userId":"ana","traits":{"phone":"(415) 555-0100","first_name":"Ana"},"context":{"timezone":"America/Los_Angeles"},"messageId":"id-1"}`), 200, "identify")
			expect(call(t, "POST", s.url+"/v1/track", "bearer:"+s.writeKey, `{"userId":"ana","event":"Checkout Started","properties":{"value":42},"messageId":"tr-1","timestamp":"2026-01-05T10:00:00Z"}`), 200, "track")
			expect(call(t, "POST", s.url+"/v1/track", wk, `{"userId":"ana","event":"Checkout Started","messageId":"tr-1"}`), 200, "duplicate track")

			// Batch with one bad item: 200, good items stored, the bad one listed.
			r := call(t, "POST", s.url+"/v1/batch", wk, `{"batch":[
				{"type":"track","userId":"ana","event":"Product Viewed","messageId":"b-1"},
				{"type":"identify","userId":"bob","traits":{"phone":"12"},"messageId":"b-2"},
				{"type":"bogus","userId":"x"},
				{"type":"track","anonymousId":"v-1","event":"Product Added","messageId":"b-3"}]}`)
			expect(r, 200, "batch")
			errs, _ := r.body["errors"].([]any)
			if len(errs) != 2 {
				t.Fatalf("batch errors %v, want 2", r.raw)
			}
			first := errs[0].(map[string]any)
			if first["index"].(float64) != 1 || first["field"] != "traits.phone" {
				t.Errorf("first batch error %v, want index 1 field traits.phone", first)
			}
			if errs[1].(map[string]any)["index"].(float64) != 2 {
				t.Errorf("second batch error %v, want index 2", errs[1])
			}

			// Bad input: clear 4xx, nothing stored.
			bad := []struct {
				path, auth, body string
				status           int
				code, field      string
			}{
				{"/v1/track", wk, `{"userId":`, 400, "invalid", ""},
				{"/v1/track", "", `{"userId":"a","event":"x"}`, 401, "unauthorized", ""},
				{"/v1/track", "basic:nope", `{"userId":"a","event":"x"}`, 401, "unauthorized", ""},
				{"/v1/identify", wk, `{"userId":"zed","traits":{"phone":"555"}}`, 400, "invalid", "traits.phone"},
				{"/v1/track", wk, `{"userId":"a","event":"x","properties":{"blob":"` + strings.Repeat("x", 33<<10) + `"}}`, 400, "too_large", ""},
				{"/v1/batch", wk, `{"batch":[{"type":"track","userId":"a","event":"x","properties":{"b":"` + strings.Repeat("y", 510<<10) + `"}}]}`, 400, "too_large", ""},
				{"/v1/batch", wk, `{"batch":{}}`, 400, "invalid", ""},
			}
			for _, b := range bad {
				r := call(t, "POST", s.url+b.path, b.auth, b.body)
				if r.status != b.status || r.errCode() != b.code || (b.field != "" && r.errField() != b.field) {
					t.Errorf("POST %s %.40q: %d %s, want %d %s %s", b.path, b.body, r.status, r.raw, b.status, b.code, b.field)
				}
			}
			if r := call(t, "GET", s.url+"/v1/contacts/zed", ak, ""); r.status != 404 {
				t.Errorf("refused identify stored a contact: %d", r.status)
			}

			// The write key opens ingestion only.
			if r := call(t, "GET", s.url+"/v1/contacts/ana", wk, ""); r.status != 403 {
				t.Errorf("write key on admin route: %d, want 403", r.status)
			}
			if r := call(t, "GET", s.url+"/v1/contacts/ana", "", ""); r.status != 401 {
				t.Errorf("no key on admin route: %d, want 401", r.status)
			}

			// Read it back.
			r = call(t, "GET", s.url+"/v1/contacts?phone=%2B1%20415-555-0100", ak, "")
			expect(r, 200, "find by phone")
			if r.body["id"] != "ana" || r.body["phone"] != "+14155550100" || r.body["timezone"] != "America/Los_Angeles" {
				t.Errorf("contact %s", r.raw)
			}
			if c := r.body["consent"].(map[string]any); c["status"] != "none" {
				t.Errorf("consent %v", c)
			}
			expect(call(t, "POST", s.url+"/v1/contacts/ana/consent", ak, `{"status":"subscribed","source":"web_form","evidence":{"url":"https://glow.example/join","ip":"203.0.113.5"}}`), 201, "opt in")
			expect(call(t, "POST", s.url+"/v1/contacts/ana/consent", ak, `{"status":"unsubscribed","source":"keyword","evidence":{"text":"STOP"}}`), 201, "opt out")
			r = call(t, "POST", s.url+"/v1/contacts/ana/consent", ak, `{"status":"subscribed","source":"import"}`)
			if r.status != 409 || r.errCode() != "conflict" {
				t.Errorf("import resubscribe after STOP: %d %s", r.status, r.raw)
			}
			r = call(t, "POST", s.url+"/v1/contacts/ana/consent", ak, `{"status":"subscribed","source":"api","colour":"red"}`)
			if r.status != 400 || r.errField() != "colour" {
				t.Errorf("unknown consent field: %d %s", r.status, r.raw)
			}
			r = call(t, "GET", s.url+"/v1/contacts/ana", ak, "")
			c := r.body["consent"].(map[string]any)
			if c["status"] != "unsubscribed" || len(c["ledger"].([]any)) != 2 {
				t.Errorf("consent after STOP: %v", c)
			}
			r = call(t, "GET", s.url+"/v1/contacts/ana/timeline", ak, "")
			expect(r, 200, "timeline")
			var names []string
			for _, it := range r.body["items"].([]any) {
				m := it.(map[string]any)
				if m["type"] == "decision" || m["type"] == "message" {
					continue // the engine runs asynchronously; its part is tested elsewhere
				}
				names = append(names, m["type"].(string)+":"+m["name"].(string))
			}
			want := []string{"event:Checkout Started", "event:identify", "event:Product Viewed", "event:Subscribed", "consent:subscribed", "event:Unsubscribed", "consent:unsubscribed"}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("timeline %v, want %v", names, want)
			}

			// analytics.js: short path, key in the body, text/plain.
			expect(call(t, "POST", s.url+"/v1/t", "", `{"writeKey":"`+s.writeKey+`","type":"track","anonymousId":"v-2","event":"Page Loaded","messageId":"ajs-1"}`, "Content-Type", "text/plain"), 200, "analytics.js track")

			r = call(t, "GET", s.url+"/v1/openapi.json", "", "")
			expect(r, 200, "openapi")
			paths := r.body["paths"].(map[string]any)
			for _, p := range []string{"/v1/track", "/v1/identify", "/v1/batch", "/v1/page", "/v1/alias", "/v1/contacts", "/v1/contacts/{id}", "/v1/contacts/{id}/timeline", "/v1/contacts/{id}/consent", "/healthz", "/readyz", "/v1/flows", "/v1/flows/{id}", "/v1/flows/{id}/pause", "/v1/flows/{id}/resume", "/v1/messages", "/v1/console/inbound", "/l/{code}"} {
				if paths[p] == nil {
					t.Errorf("openapi lacks %s", p)
				}
			}
			if log := s.stoppedLog(); strings.Contains(log, "panic") {
				t.Errorf("server log mentions a panic:\n%s", log)
			}
		})
	}
}

// TestAcknowledgedEventsSurviveKill9 sends events from many clients, kills the
// server with SIGKILL while they are in flight, and checks that every event
// that got a 2xx is in the database.
func TestAcknowledgedEventsSurviveKill9(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			s := startServer(t, dsn, "SMSFLOW_WRITE_KEY=wk_test", "SMSFLOW_ADMIN_KEY=ak_test")
			var (
				acked  sync.Map
				nAcked atomic.Int64
				wg     sync.WaitGroup
				killed = make(chan struct{})
				enough = make(chan struct{})
				once   sync.Once
			)
			client := &http.Client{Timeout: 10 * time.Second}
			for c := 0; c < 16; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-killed:
							return
						default:
						}
						id := fmt.Sprintf("k-%d-%d", c, i)
						body := fmt.Sprintf(`{"userId":"u-%d","event":"Product Viewed","messageId":%q}`, c, id)
						req, _ := http.NewRequest("POST", s.url+"/v1/track", strings.NewReader(body))
						req.SetBasicAuth("wk_test", "")
						resp, err := client.Do(req)
						if err != nil {
							return // the server is gone
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == 200 {
							acked.Store(id, true)
							if nAcked.Add(1) == 500 {
								once.Do(func() { close(enough) })
							}
						}
					}
				}(c)
			}
			// Kill once a good number of events has been acknowledged.
			select {
			case <-enough:
			case <-s.exited:
				t.Fatalf("server exited early:\n%s", s.stoppedLog())
			}
			s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.exited
			close(killed)
			wg.Wait()

			db, err := store.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			missing := 0
			acked.Range(func(k, _ any) bool {
				var n int
				if err := db.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM events WHERE message_id = ?`, k).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 1 {
					missing++
				}
				return true
			})
			if missing > 0 {
				t.Errorf("%d of %d acknowledged events lost after kill -9", missing, nAcked.Load())
			}
			t.Logf("%d acknowledged events all present after kill -9", nAcked.Load())

			// And the server starts again on the same database.
			s2 := startServer(t, dsn, "SMSFLOW_WRITE_KEY=wk_test", "SMSFLOW_ADMIN_KEY=ak_test")
			if r := call(t, "GET", s2.url+"/v1/contacts/u-0", "bearer:ak_test", ""); r.status != 200 {
				t.Errorf("after restart: %d %s", r.status, r.raw)
			}
		})
	}
}
