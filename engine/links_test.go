package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
)

// Tracked links, without a database (pure_test.go).

// link is the tracked link stored under a code, or nil.
func (w *pureWorld) link(code string) *store.Link {
	for _, l := range w.rows.links {
		if l.Code == code {
			return l
		}
	}
	return nil
}

const utmCartFlow = `id: cart-utm
name: Cart with UTM
category: behavior
trigger:
  event: Checkout Started
steps:
  - wait: 60m
  - id: reminder
    send: "{{ brand.name }}: your cart is waiting {{ event.properties.checkout_url | track }}"
`

// TestTrackedLinkGetsUTM: with links.utm set, the stored destination gets
// the UTM parameters, rendered with the message's scope, without touching
// the parameters and fragment it had; a value that cannot render is left
// out and the message still goes.
func TestTrackedLinkGetsUTM(t *testing.T) {
	var logged utmLogSink
	w := newPureWorldWith(t, Config{Brand: map[string]any{"name": "Glow"},
		PublicURL: "https://sms.glow.example/", Provider: "console",
		LinkUTM: map[string]string{
			"source":   "sms",
			"medium":   "text",                               // the destination has utm_medium already
			"campaign": "{{ flow.id }}",                      // rendered with the message's scope
			"content":  "{{ contact.traits.first_name }}",    // Ana
			"term":     "{{ contact.traits.no_such_trait }}", // missing: left out, the send goes on
		}}, utmCartFlow)
	w.eng.log = slog.New(slog.NewTextHandler(&logged, nil))
	w.contact("ana", "+1 415 555 0100")
	w.track("ana", "Checkout Started", map[string]any{"value": 42.0, "checkout_url": "https://glow.example/c/1?ref=abc&utm_medium=email#pay"})
	w.advance(61 * time.Minute)

	msgs := w.queued("ana")
	if len(msgs) != 1 {
		t.Fatalf("queued %d messages, want 1: %+v", len(msgs), msgs)
	}
	const prefix = "Glow: your cart is waiting https://sms.glow.example/l/"
	if !strings.HasPrefix(msgs[0].Body, prefix) {
		t.Fatalf("body %q", msgs[0].Body)
	}
	code := strings.TrimPrefix(msgs[0].Body, prefix)
	if len(code) != LinkCodeLength {
		t.Errorf("code %q: want %d characters", code, LinkCodeLength)
	}
	link := w.link(code)
	if link == nil {
		t.Fatalf("no link stored under %q", code)
	}
	want := "https://glow.example/c/1?ref=abc&utm_medium=email&utm_source=sms&utm_campaign=cart-utm&utm_content=Ana#pay"
	if link.URL != want {
		t.Errorf("stored destination\n got %s\nwant %s", link.URL, want)
	}
	if out := logged.String(); !strings.Contains(out, "UTM parameters left out") || !strings.Contains(out, "links.utm.term") {
		t.Errorf("the unrenderable utm term was not logged:\n%s", out)
	}
}

// Without links.utm the destination is stored exactly as written.
func TestTrackedLinkWithoutUTM(t *testing.T) {
	w := newPureWorldWith(t, Config{}, utmCartFlow)
	w.contact("ana", "+1 415 555 0100")
	dest := "https://glow.example/c/1?ref=abc#pay"
	w.track("ana", "Checkout Started", map[string]any{"value": 42.0, "checkout_url": dest})
	w.advance(61 * time.Minute)
	msgs := w.queued("ana")
	if len(msgs) != 1 {
		t.Fatalf("queued %d messages, want 1", len(msgs))
	}
	i := strings.LastIndex(msgs[0].Body, "/l/")
	if i < 0 {
		t.Fatalf("no tracked link in %q", msgs[0].Body)
	}
	if link := w.link(msgs[0].Body[i+3:]); link == nil || link.URL != dest {
		t.Errorf("stored %+v, want %s", link, dest)
	}
}

// utmLogSink is a log sink safe for the engine's goroutines.
type utmLogSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *utmLogSink) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *utmLogSink) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
