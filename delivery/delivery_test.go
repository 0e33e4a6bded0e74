package delivery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

var ctx = context.Background()

// virtualClock is a clock the tests move; safe for concurrent use (a
// sender's calls read it from several goroutines).
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *virtualClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *virtualClock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *virtualClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// advanceTo moves the clock to t, never back.
func (c *virtualClock) advanceTo(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
}

// movingClock is a clock one goroutine moves by hand.
type movingClock struct{ t time.Time }

func (c *movingClock) Now() time.Time          { return c.t }
func (c *movingClock) advance(d time.Duration) { c.t = c.t.Add(d) }

const helpText = "Glow Beauty: help at glow.example/help or 1-800-555-0100. Msg & data rates may apply. Reply STOP to opt out."

// subscribe makes a contact for the number through ingest, as a text and
// a web-form opt-in would, and returns its id.
func subscribe(t *testing.T, db *store.DB, clk *movingClock, from string) string {
	t.Helper()
	opt := ingest.InboundOptions{Region: "US", Provider: "console", Keywords: policy.DefaultKeywordConfig(),
		BrandName: "Glow", HelpText: helpText, SendConfirmations: true}
	res, err := ingest.Inbound(ctx, db, clk, from, "hello", opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RecordConsent(ctx, db, clk, res.ContactID, ingest.ConsentChange{Status: smsflow.ConsentSubscribed,
		Source: smsflow.SourceWebForm, Evidence: map[string]any{"form": "https://glow.example/sms"}}, ingest.OptInOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Second)
	return res.ContactID
}
