package main

import (
	"context"
	"database/sql"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsflow/smsflow/bench"
	"github.com/smsflow/smsflow/provider/twilio/twiliotest"
	"github.com/smsflow/smsflow/store"
)

// killHarness is what the tests that kill a sending smsflow with SIGKILL
// share (the crash test, the takeover of a dead node's claims): a fake
// Twilio on loopback, the crash flow in a flows directory, the environment
// that points serve at both, and a connection of the test's own to the
// database, to count rows while the processes come and go.
type killHarness struct {
	t    *testing.T
	ctx  context.Context
	kind string // "sqlite" or "postgres"
	fake *twiliotest.Server
	// env is the environment every serve of the test gets: Twilio at the
	// fake, the crash flow, the keys and whatever the test added.
	env []string
	sdb *sql.DB
}

// newKillHarness starts the fake Twilio and opens the database; env is
// added to the shared environment (the keys, the pace, the log level).
// Everything is closed when t ends.
func newKillHarness(t *testing.T, ctx context.Context, kind, dsn string, env ...string) *killHarness {
	t.Helper()
	// Each answer is held 1 ms, so a kill right after a request arrived
	// lands while that provider call is in flight.
	fake, err := twiliotest.Start(twiliotest.Config{AccountSID: fakeSID, AuthToken: fakeToken, Latency: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	flows := t.TempDir()
	if err := os.WriteFile(filepath.Join(flows, "crash.yaml"), []byte(crashFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	sdb, err := bench.OpenSQL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	return &killHarness{
		t: t, ctx: ctx, kind: kind, fake: fake, sdb: sdb,
		env: append([]string{
			"SMSFLOW_PROVIDER=twilio", "SMSFLOW_TWILIO_ACCOUNT_SID=" + fakeSID, "SMSFLOW_TWILIO_AUTH_TOKEN=" + fakeToken,
			"SMSFLOW_TWILIO_FROM=" + fakeFrom, "SMSFLOW_TWILIO_API_BASE=" + fake.URL(),
			"SMSFLOW_PUBLIC_URL=" + fakePublic, "SMSFLOW_FLOWS=" + flows,
		}, env...),
	}
}

// count runs a query of one number (written with ? placeholders).
func (h *killHarness) count(q string, args ...any) int64 {
	h.t.Helper()
	var n int64
	if h.kind == "postgres" {
		q = store.RebindDollar(q)
	}
	if err := h.sdb.QueryRowContext(h.ctx, q, args...).Scan(&n); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// kill ends s with SIGKILL and waits for it to exit and, on PostgreSQL, for
// the server to drop the sessions of appName (the application_name s's
// dsn carried), so a COMMIT it had sent is applied or not, for good, before
// the test looks at the rows.
func (h *killHarness) kill(s *server, appName string) {
	h.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		h.t.Fatal(err)
	}
	<-s.exited
	if h.kind == "postgres" {
		crashAwaitSessionsGone(h.t, h.sdb, appName)
	}
}

// withAppName is dsn with its PostgreSQL application_name set, so a test can
// wait for a killed process's sessions to end; a SQLite dsn is returned as
// it is.
func withAppName(t *testing.T, dsn, name string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// crashAwaitSessionsGone waits until PostgreSQL has ended every session of
// the killed process (so a COMMIT it had sent is applied or not, for good).
func crashAwaitSessionsGone(t *testing.T, sdb *sql.DB, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := sdb.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL still has %d sessions of the killed process after 10 s", n)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, bounded by deadline
	}
}

// crashFreeAddr is a loopback address with a port free right now.
func crashFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
