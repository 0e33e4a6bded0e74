// Package browsertest drives the web UI in headless Chromium against the
// real smsflow binary, on SQLite and (when SMSFLOW_TEST_POSTGRES is set)
// PostgreSQL, with the console provider. Only tests import it.
//
// A browser test:
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
//
//	func TestFlowsPage(t *testing.T) {
//		browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
//			ui.Login(t)
//			ui.Open(t, "/flows")
//			ui.Follow(t, chromedp.Click(chromedp.CSS(`button[aria-label^="Pause"]`)))
//			if got := ui.Text(t, "h1"); got != "Flows" { … }
//			ui.Screenshot(t, "flows")
//			ui.Axe(t)
//		})
//	}
//
// Tests skip, saying how to install it, where Chromium is absent.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store/storetest"
)

// Environment variables the harness reads.
const (
	// ChromiumEnv names the Chromium (or Chrome) binary to use.
	ChromiumEnv = "SMSFLOW_CHROMIUM"
	// UpdateScreenshotsEnv=1 copies the screenshots of the SQLite run to
	// docs/screenshots/ (the ones the README shows).
	UpdateScreenshotsEnv = "SMSFLOW_UPDATE_SCREENSHOTS"
	// ScreenshotsDirEnv is where screenshots are written (default: a
	// directory smsflow-screenshots in the system's temporary directory).
	ScreenshotsDirEnv = "SMSFLOW_SCREENSHOTS_DIR"
)

// SkipMessage is what a browser test says when it skips.
const SkipMessage = "Chromium not found: install Debian's chromium package to run the browser tests"

// Chromium returns the Chromium binary: $SMSFLOW_CHROMIUM, else chromium,
// chromium-browser or google-chrome on PATH; "" when there is none.
func Chromium() string {
	if p := os.Getenv(ChromiumEnv); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Main runs a package's tests and removes the binary built for them; call
// it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	testkit.RemoveSmsflow()
	os.Exit(code)
}

// Binary builds the smsflow binary once per test process.
func Binary(t testing.TB) string {
	t.Helper()
	return testkit.SmsflowBinary(t)
}

// Server is a running `smsflow serve`.
type Server struct {
	*testkit.Serve
	DB  string // "sqlite" or "postgres"
	DSN string
	Dir string // its working directory (smsflow.yaml, ./flows)
}

// StartServer runs `smsflow serve --addr 127.0.0.1:0 --db DSN` in dir
// (t.TempDir() when empty: the bundled example flows, console provider)
// with env added, and waits for its banner. It is stopped when t ends.
func StartServer(t testing.TB, db, dsn, dir string, env ...string) *Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	p := testkit.StartServe(t, dir, []string{"--db", dsn}, env...)
	s := &Server{Serve: p, DB: db, DSN: dsn, Dir: dir}
	t.Cleanup(p.Stop) // runs before StartServe's kill: a clean stop first
	if s.AdminKey == "" || strings.HasSuffix(s.AdminKey, "…") {
		t.Fatalf("smsflow serve did not start with a fresh admin key; stdout:\n%s\nstderr:\n%s", strings.Join(s.Banner, "\n"), s.Log())
	}
	return s
}

// Log is what the server logged so far.
func (s *Server) Log() string { return s.Stderr.String() }

// API calls the JSON API with the admin key and decodes the answer into
// out (when not nil); it fails the test unless the status is 2xx.
func (s *Server) API(t testing.TB, method, path string, body any, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
}

// PutFlow creates or edits a flow through PUT /v1/flows/{id} (a new API
// flow starts paused).
func (s *Server) PutFlow(t testing.TB, id, yaml string) {
	t.Helper()
	req, err := http.NewRequest("PUT", s.URL+"/v1/flows/"+id, strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminKey)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT /v1/flows/%s: %s\n%s", id, resp.Status, b)
	}
}

// Each runs fn on a fresh server and browser per database: SQLite, and
// PostgreSQL when SMSFLOW_TEST_POSTGRES is set. It skips without Chromium.
func Each(t *testing.T, fn func(t *testing.T, ui *UI)) {
	t.Helper()
	if Chromium() == "" {
		t.Skip(SkipMessage)
	}
	for db, dsn := range map[string]func(*testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "smsflow.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	} {
		t.Run(db, func(t *testing.T) {
			srv := StartServer(t, db, dsn(t), "")
			fn(t, NewUI(t, srv))
		})
	}
}

// UI is a headless Chromium tab on a server.
type UI struct {
	*Server
	ctx context.Context
	// Console collects what the page logged as errors, CSP violations
	// included (NoConsoleErrors checks it).
	mu      sync.Mutex
	console []string
}

// NewUI starts headless Chromium (a fresh profile) on srv; it is closed
// when t ends. It skips without Chromium.
func NewUI(t testing.TB, srv *Server) *UI {
	t.Helper()
	path := Chromium()
	if path == "" {
		t.Skip(SkipMessage)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // containers and CI run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	ui := &UI{Server: srv, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				ui.addConsole(string(m.Type) + ": " + m.Text)
			}
		}
	}()
	return ui
}

func (ui *UI) addConsole(s string) {
	ui.mu.Lock()
	ui.console = append(ui.console, s)
	ui.mu.Unlock()
}

// Ctx is the tab's context, for chromedp calls the helpers do not cover.
func (ui *UI) Ctx() context.Context { return ui.ctx }

// Do runs chromedp steps in the tab, failing the test on error.
func (ui *UI) Do(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ui.ctx, steps...); err != nil {
		t.Fatalf("browser: %v\nserver log:\n%s", err, lastLines(ui.Log(), 30))
	}
}

// Follow runs steps that load another page — a click on a link or a
// form's button, a submit — and returns once that page has loaded (a
// redirect after a post included), so that what comes next queries the new
// page and not the one going away.
func (ui *UI) Follow(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.RunResponse(ui.ctx, steps...); err != nil {
		t.Fatalf("browser: %v\nserver log:\n%s", err, lastLines(ui.Log(), 30))
	}
}

// Get runs one chromedp action that returns a value (chromedp.Run),
// failing the test on error.
func Get[T any](t testing.TB, ui *UI, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ui.ctx, a)
	if err != nil {
		t.Fatalf("browser: %v\nserver log:\n%s", err, lastLines(ui.Log(), 30))
	}
	return v
}

// Open loads a path of the server and waits for its <main>.
func (ui *UI) Open(t testing.TB, path string) {
	t.Helper()
	ui.Do(t, chromedp.Navigate(ui.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// Login logs in with the admin key through the form and waits for the nav.
func (ui *UI) Login(t testing.TB) {
	t.Helper()
	ui.Do(t, chromedp.Navigate(ui.URL+"/login"), chromedp.WaitVisible(chromedp.ID("key")), chromedp.SendKeys(chromedp.ID("key"), ui.AdminKey))
	ui.Follow(t, chromedp.Submit(chromedp.ID("key")))
	ui.Do(t, chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)))
}

// Text is the text of the first element matching a CSS selector.
func (ui *UI) Text(t testing.TB, sel string) string {
	t.Helper()
	return strings.TrimSpace(Get(t, ui, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

// Eval evaluates a JavaScript expression in the page; a promise is
// awaited.
func Eval[T any](t testing.TB, ui *UI, expr string) T {
	t.Helper()
	return Get(t, ui, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// Location is the page's current path and query.
func (ui *UI) Location(t testing.TB) string {
	t.Helper()
	return Eval[string](t, ui, `location.pathname + location.search`)
}

// NoConsoleErrors fails the test if the page logged errors or threw (a
// CSP violation logs one).
func (ui *UI) NoConsoleErrors(t testing.TB) {
	t.Helper()
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if len(ui.console) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(ui.console, "\n"))
	}
}

// Widths are the widths screenshots are taken at: a laptop and a phone.
var Widths = []int{1280, 390}

// Screenshot saves the whole page at each of Widths as NAME-WIDTH.png in
// the screenshots directory (ScreenshotsDirEnv), and with
// SMSFLOW_UPDATE_SCREENSHOTS=1 copies the SQLite run's to docs/screenshots/.
func (ui *UI) Screenshot(t testing.TB, name string) {
	t.Helper()
	dir := os.Getenv(ScreenshotsDirEnv)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "smsflow-screenshots")
	}
	dir = filepath.Join(dir, ui.DB)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, w := range Widths {
		ui.Do(t, chromedp.EmulateViewport(int64(w), 900))
		png := Get(t, ui, chromedp.FullScreenshot(100))
		file := fmt.Sprintf("%s-%d.png", name, w)
		if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if os.Getenv(UpdateScreenshotsEnv) == "1" && ui.DB == "sqlite" {
			docs := filepath.Join(RepoRoot(t), "docs", "screenshots")
			if err := os.MkdirAll(docs, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(docs, file), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ui.Do(t, chromedp.EmulateViewport(1280, 900))
	t.Logf("screenshots %s-{%d,%d}.png in %s", name, Widths[0], Widths[1], dir)
}

// RepoRoot is the repository's root directory (where go.mod is).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Violation is one axe-core finding.
type Violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// Axe runs axe-core (testdata/axe/axe.min.js, vendored) on the page and
// fails the test on serious or critical violations; the others are logged.
func (ui *UI) Axe(t testing.TB) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(RepoRoot(t), "testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	ui.Do(t, chromedp.Evaluate[chromedp.Void](string(src)))
	res := Eval[[]Violation](t, ui, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.map(n => n.target.join(" "))})))`)
	for _, v := range res {
		line := fmt.Sprintf("axe %s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(line)
		} else {
			t.Log(line)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
