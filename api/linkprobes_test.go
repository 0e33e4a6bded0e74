package api

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// The table of clients never grows past linkProbeClients: while it is full
// of clients still paying off their probes, new clients share one budget;
// clients whose budget has refilled make room again.
func TestLinkProbesTableIsBounded(t *testing.T) {
	l := newLinkProbes()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range linkProbeClients {
		if ok, _, _ := l.spend(fmt.Sprintf("10.0.%d.%d", i/256, i%256), t0); !ok {
			t.Fatalf("client %d refused its first lookup", i)
		}
	}
	for i := range linkProbeBurst {
		if ok, _, _ := l.spend(fmt.Sprintf("192.0.2.%d", i), t0); !ok {
			t.Fatalf("new client %d refused while the shared budget lasts", i)
		}
	}
	ok, retry, first := l.spend("198.51.100.1", t0)
	if ok || retry != linkProbeEvery || !first {
		t.Errorf("a new client after the shared budget: ok=%v retry=%v first=%v, want refused for %v", ok, retry, first, linkProbeEvery)
	}
	if n := len(l.clients); n != linkProbeClients {
		t.Errorf("%d clients remembered, want %d", n, linkProbeClients)
	}
	// One period later every remembered bucket is full again: forgotten.
	t1 := t0.Add(linkProbeEvery)
	if ok, _, _ := l.spend("198.51.100.1", t1); !ok {
		t.Error("a new client refused after the table was swept")
	}
	if n := len(l.clients); n != 1 {
		t.Errorf("%d clients remembered after the sweep, want 1", n)
	}
}

func TestClientAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"203.0.113.9:40000":               "203.0.113.9",
		"[::ffff:203.0.113.9]:1":          "203.0.113.9",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":               "fe80::/64",
		"pipe":                            "pipe",
	} {
		r := httptest.NewRequest("GET", "/l/x", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "198.51.100.7") // never trusted
		if got := clientAddress(r); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", remote, got, want)
		}
	}
}
