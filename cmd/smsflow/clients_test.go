package main

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientsDir holds the Node project that drives the official libraries
// (testdata/clients at the repository root).
const clientsDir = "../../testdata/clients"

// orderRevenue is the revenue send.mjs is told to give every Order
// Completed: a value with cents, so a float sent as a JSON number must come
// back exactly.
const orderRevenue = 129.95

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestOfficialClientLibraries sends a page, an identify with a local-format
// phone, an Order Completed and an alias through the unmodified
// @segment/analytics-node and @rudderstack/rudder-sdk-node libraries
// (testdata/clients/send.mjs) to the real binary, then checks through the
// admin API that every call was stored as sent.
func TestOfficialClientLibraries(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the official client library test is skipped (install Node.js >= 20, then run `npm ci --prefix testdata/clients` to enable)")
	}
	dir, err := filepath.Abs(clientsDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Skip("testdata/clients/node_modules is absent: run `npm ci --prefix testdata/clients` to enable the official client library test")
	}

	s := startServer(t, "sqlite:"+filepath.Join(t.TempDir(), "smsflow.db"))

	// The timeout only stops a hung library from hanging the suite;
	// send.mjs gives up by itself after 60 s.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Server-side libraries: the back end's key.
	cmd := exec.CommandContext(ctx, node, "send.mjs", s.url, s.serverKey,
		"--segment-user", "seg-user", "--segment-phone", "(415) 555-0123",
		"--rudder-user", "rud-user", "--rudder-phone", "(415) 555-0124",
		"--revenue", strconv.FormatFloat(orderRevenue, 'f', -1, 64))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("send.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("send.mjs: %v\n%s\nserver log:\n%s", err, out, s.stoppedLog())
	}

	ak := "bearer:" + s.adminKY
	for _, lib := range []struct {
		name, user, localPhone, e164 string
		// libraryID reports whether a messageId is one the library makes
		// (the server makes "gen-…" ids for messages without one).
		libraryID func(string) bool
	}{
		{"segment", "seg-user", "(415) 555-0123", "+14155550123", func(id string) bool { return strings.HasPrefix(id, "node-next-") }},
		{"rudderstack", "rud-user", "(415) 555-0124", "+14155550124", uuidRe.MatchString},
	} {
		t.Run(lib.name, func(t *testing.T) {
			r := call(t, "GET", s.url+"/v1/contacts/"+lib.user, ak, "")
			if r.status != 200 {
				t.Fatalf("GET contact %s: %d %s", lib.user, r.status, r.raw)
			}
			if got, want := r.body["id"], lib.user; got != want {
				t.Errorf("contact id = %v, want %v", got, want)
			}
			if got, want := r.body["phone"], lib.e164; got != want {
				t.Errorf("contact phone = %v, want %v (normalized from %q)", got, want, lib.localPhone)
			}
			traits, _ := r.body["traits"].(map[string]any)
			if got, want := traits["first_name"], lib.name; got != want {
				t.Errorf("traits.first_name = %v, want %v", got, want)
			}

			// The number in its local format finds the same contact.
			r = call(t, "GET", s.url+"/v1/contacts?phone="+url.QueryEscape(lib.localPhone), ak, "")
			if got, want := r.body["id"], lib.user; r.status != 200 || got != want {
				t.Errorf("find by phone %q: %d, id %v, want %v: %s", lib.localPhone, r.status, got, want, r.raw)
			}

			// The alias folded the anonymous visitor into the user.
			r = call(t, "GET", s.url+"/v1/contacts/anon:"+lib.user+"-visitor", ak, "")
			if got, want := r.body["id"], lib.user; r.status != 200 || got != want {
				t.Errorf("visitor after alias: %d, id %v, want %v: %s", r.status, got, want, r.raw)
			}

			r = call(t, "GET", s.url+"/v1/contacts/"+lib.user+"/timeline", ak, "")
			if r.status != 200 {
				t.Fatalf("GET timeline: %d %s", r.status, r.raw)
			}
			items, _ := r.body["items"].([]any)
			events := map[string]map[string]any{} // event name → its data
			for _, it := range items {
				m, _ := it.(map[string]any)
				if m["type"] != "event" {
					continue
				}
				name, _ := m["name"].(string)
				data, _ := m["data"].(map[string]any)
				if _, dup := events[name]; dup {
					t.Errorf("event %q is on the timeline twice: %s", name, r.raw)
				}
				events[name] = data
				if id, _ := data["messageId"].(string); !lib.libraryID(id) {
					t.Errorf("event %q has messageId %q, not one %s makes: the library's id was lost", name, id, lib.name)
				}
			}
			if got, want := len(events), 4; got != want {
				t.Errorf("timeline has %d distinct events, want %d (Pricing, identify, Order Completed, alias): %s", got, want, r.raw)
			}

			order := events["Order Completed"]
			if order == nil {
				t.Fatalf("no Order Completed on the timeline: %s", r.raw)
			}
			props, _ := order["properties"].(map[string]any)
			if got, want := props["revenue"], orderRevenue; got != want {
				t.Errorf("Order Completed revenue = %v (%T), want %v", got, got, want)
			}
			if got, want := props["order_id"], lib.user+"-order-1"; got != want {
				t.Errorf("Order Completed order_id = %v, want %v", got, want)
			}
			if got, want := props["currency"], "USD"; got != want {
				t.Errorf("Order Completed currency = %v, want %v", got, want)
			}

			identify := events["identify"]
			idTraits, _ := identify["traits"].(map[string]any)
			if got, want := idTraits["phone"], lib.localPhone; got != want {
				t.Errorf("identify traits.phone = %v, want %v as the library sent it", got, want)
			}

			page := events["Pricing"]
			if got, want := page["type"], "page"; got != want {
				t.Errorf("Pricing event type = %v, want %v (the page viewed before sign-up, merged by the alias)", got, want)
			}
			pageProps, _ := page["properties"].(map[string]any)
			if got, want := pageProps["path"], "/pricing"; got != want {
				t.Errorf("Pricing properties.path = %v, want %v", got, want)
			}

			if got, want := events["alias"]["type"], "alias"; got != want {
				t.Errorf("alias event type = %v, want %v", got, want)
			}
		})
	}
	if log := s.stoppedLog(); strings.Contains(log, "panic") {
		t.Errorf("server log mentions a panic:\n%s", log)
	}
}
