package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestMessageLogByFlowEitherWay: on SQLite the log reads a big flow along
// messages_created and a small one through messages_report with a sort; both
// ways list the same messages in the same order, with dates and the keyset.
func TestMessageLogByFlowEitherWay(t *testing.T) {
	defer store.SetFlowScanMinForTest(4)()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		var ms []smsflow.Message
		want := map[string][]int{} // flow → indexes into ms, newest first
		for i := range 30 {
			flow := "big"
			if i%10 == 3 {
				flow = "small" // 3 messages: under the threshold
			}
			// Out of id order in time: created_at, not id, orders the log.
			at := t0.Add(time.Duration((i*7)%30) * time.Minute)
			ms = append(ms, smsflow.Message{Direction: "out", FlowID: flow, ContactID: "c1", Phone: "+14155550100", Body: "hi",
				Encoding: "GSM-7", Segments: 1, Status: smsflow.MessageDelivered, CreatedAt: at, UpdatedAt: at})
			want[flow] = append(want[flow], i)
		}
		if err := db.BulkInsertMessages(ctx, ms); err != nil {
			t.Fatal(err)
		}
		all, err := db.MessageLog(ctx, store.MessageFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, flow := range []string{"big", "small"} {
			var exp []int64
			for _, m := range all {
				if m.FlowID == flow {
					exp = append(exp, m.ID)
				}
			}
			if len(exp) != len(want[flow]) {
				t.Fatalf("%s: %d messages in the log, want %d", flow, len(exp), len(want[flow]))
			}
			got := ids(t, db, store.MessageFilter{FlowID: flow})
			if !slices.Equal(got, exp) {
				t.Errorf("%s: %v, want %v", flow, got, exp)
			}
			// Pages of 2 by the keyset add up to the whole list.
			var paged []int64
			f := store.MessageFilter{FlowID: flow, Limit: 2}
			for {
				page, err := db.MessageLog(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, m := range page {
					paged = append(paged, m.ID)
				}
				last := page[len(page)-1]
				f.BeforeAt, f.Before = last.CreatedAt, last.ID
			}
			if !slices.Equal(paged, exp) {
				t.Errorf("%s by pages: %v, want %v", flow, paged, exp)
			}
			// A date range keeps the messages in it.
			since, until := t0.Add(5*time.Minute), t0.Add(20*time.Minute)
			var inRange []int64
			for _, m := range all {
				if m.FlowID == flow && !m.CreatedAt.Before(since) && m.CreatedAt.Before(until) {
					inRange = append(inRange, m.ID)
				}
			}
			if got := ids(t, db, store.MessageFilter{FlowID: flow, Since: since, Until: until}); !slices.Equal(got, inRange) {
				t.Errorf("%s in dates: %v, want %v", flow, got, inRange)
			}
		}
	})
}

func ids(t *testing.T, db *store.DB, f store.MessageFilter) []int64 {
	t.Helper()
	ms, err := db.MessageLog(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}
