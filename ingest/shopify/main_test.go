package shopify_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
)

var ctx = context.Background()

// fixedClock is a clock that stands still.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var now = time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)

func newWriter(t *testing.T, db *store.DB) *ingest.Writer {
	t.Helper()
	w := ingest.NewWriter(db, fixedClock{now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Start()
	t.Cleanup(w.Stop)
	return w
}

func num(t *testing.T, raw string) *phone.Number {
	t.Helper()
	n, err := phone.Parse(raw, "US")
	if err != nil {
		t.Fatal(err)
	}
	return &n
}

var seq int

func track(user, anon, name string, props map[string]any) *ingest.Item {
	seq++
	return &ingest.Item{Type: smsflow.EventTrack, MessageID: "m-" + strings.ReplaceAll(time.Duration(seq).String(), "ns", ""), UserID: user, AnonymousID: anon,
		Name: name, Properties: props, Timestamp: now, ReceivedAt: now}
}

func identify(user, anon string, ph *phone.Number, traits map[string]any) *ingest.Item {
	it := track(user, anon, "", nil)
	it.Type, it.Traits, it.Phone = smsflow.EventIdentify, traits, ph
	return it
}

func submit(t *testing.T, w *ingest.Writer, items ...*ingest.Item) []ingest.Result {
	t.Helper()
	res, err := w.Submit(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
