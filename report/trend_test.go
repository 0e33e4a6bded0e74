package report

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

func TestEnteredPerDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		from := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC) // days run 06:00 to 06:00
		err := db.WriteTx(context.Background(), func(tx *store.Tx) error {
			b := &builder{tx: tx}
			for i, at := range []time.Time{
				from.Add(-time.Second),                 // before the window
				from,                                   // day 0
				from.Add(23 * time.Hour),               // day 0
				from.Add(24 * time.Hour),               // day 1
				from.Add(3*24*time.Hour - time.Second), // day 2, the last
				from.Add(3 * 24 * time.Hour),           // at the end: outside
			} {
				id := "t" + string(rune('a'+i))
				b.contact(id)
				b.run("trend", id, at, false, "", smsflow.RunCompleted, "", time.Time{}, 0)
			}
			b.contact("other")
			b.run("other-flow", "other", from, false, "", smsflow.RunCompleted, "", time.Time{}, 0)
			return b.err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := EnteredPerDay(context.Background(), db, "trend", from, from.Add(3*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{2, 1, 1}; !reflect.DeepEqual(got, want) {
			t.Errorf("EnteredPerDay = %v, want %v", got, want)
		}
	})
}
