package testkit

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
)

// Now is when the ingest fixtures happen: the writer's clock and the
// items' timestamps.
var Now = time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)

// NewWriter is an ingest writer on db with its clock standing at Now,
// running until the test ends.
func NewWriter(t testing.TB, db *store.DB) *ingest.Writer {
	t.Helper()
	w := ingest.NewWriter(db, NewClock(Now), slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Start()
	t.Cleanup(w.Stop)
	return w
}

// Number parses raw as a US number, failing the test when it is none.
func Number(t testing.TB, raw string) *phone.Number {
	t.Helper()
	n, err := phone.Parse(raw, "US")
	if err != nil {
		t.Fatal(err)
	}
	return &n
}

// messageSeq makes every item's messageId unique within a test binary.
var messageSeq atomic.Int64

// Track is a track item at Now with a messageId of its own.
func Track(user, anon, name string, props map[string]any) *ingest.Item {
	id := "m-" + strconv.FormatInt(messageSeq.Add(1), 10)
	return &ingest.Item{Type: smsflow.EventTrack, MessageID: id, UserID: user, AnonymousID: anon,
		Name: name, Properties: props, Timestamp: Now, ReceivedAt: Now}
}

// Identify is an identify item at Now with a messageId of its own.
func Identify(user, anon string, ph *phone.Number, traits map[string]any) *ingest.Item {
	it := Track(user, anon, "", nil)
	it.Type, it.Traits, it.Phone = smsflow.EventIdentify, traits, ph
	return it
}

// Submit submits items to w, failing the test when the call fails (an
// item's own refusal is in its result).
func Submit(t testing.TB, w *ingest.Writer, items ...*ingest.Item) []ingest.Result {
	t.Helper()
	res, err := w.Submit(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
