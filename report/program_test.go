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

func TestProgramReportKnownHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		history(t, db)
		day := func(d, h int) time.Time { return time.Date(2025, 3, d, h, 0, 0, 0, time.UTC) }
		err := db.WriteTx(context.Background(), func(tx *store.Tx) error {
			b := &builder{tx: tx}
			sub, unsub := smsflow.ConsentSubscribed, smsflow.ConsentUnsubscribed
			b.consent("+14155559001", "", sub, smsflow.SourceWebForm, day(3, 10))
			b.consent("+14155559001", "", sub, smsflow.SourceWebForm, day(3, 11)) // already subscribed: not new
			b.consent("+14155559002", "", sub, smsflow.SourceWebForm, day(3, 12))
			b.consent("+14155559002", "", unsub, smsflow.SourceAPI, day(4, 9)) // no contact row: unattributed
			b.consent("+14155559002", "", sub, smsflow.SourceWebForm, day(5, 9))
			b.consent("+14155559003", "", sub, smsflow.SourceWebForm, day(7, 23))
			b.consent("+14155559004", "", sub, smsflow.SourceWebForm, histTo) // at the end: outside
			return b.err
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Program(context.Background(), db, histFrom, histTo)
		if err != nil {
			t.Fatal(err)
		}
		wantDays := []Day{
			{"2025-03-01", 0, 4, -4}, // t02, t05, t12, t45 (t45's carrier entry is no new change)
			{"2025-03-02", 0, 1, -1}, // t19
			{"2025-03-03", 2, 0, 2},
			{"2025-03-04", 0, 1, -1},
			{"2025-03-05", 1, 0, 1},
			{"2025-03-06", 0, 0, 0},
			{"2025-03-07", 1, 0, 1},
		}
		if !reflect.DeepEqual(rep.Days, wantDays) {
			t.Errorf("days = %+v\nwant %+v", rep.Days, wantDays)
		}
		if rep.NewSubscribers != 4 || rep.OptOuts != 6 || rep.Net != -2 || rep.Subscribers != 78 {
			t.Errorf("growth = new %d opt-outs %d net %d subscribers %d, want 4 6 -2 78", rep.NewSubscribers, rep.OptOuts, rep.Net, rep.Subscribers)
		}
		// cart: 72 + 20 + 10 treatment sends and the nudge of the run that
		// entered a minute before the window; other: one delivered message.
		wantFlows := []ProgramFlow{
			{FlowID: "cart", Sent: 103, Delivered: 61, Failed: 24, DeliveryRate: f(61.0 / 103), OptOuts: 3, OptOutRate: f(3.0 / 103)},
			{FlowID: "other", Sent: 1, Delivered: 1, Failed: 0, DeliveryRate: f(1), OptOuts: 0, OptOutRate: f(0)},
		}
		if len(rep.Flows) != 2 {
			t.Fatalf("flows = %+v", rep.Flows)
		}
		for i, w := range wantFlows {
			g := rep.Flows[i]
			if g.FlowID != w.FlowID || g.Sent != w.Sent || g.Delivered != w.Delivered || g.Failed != w.Failed || g.OptOuts != w.OptOuts ||
				!same(g.DeliveryRate, w.DeliveryRate) || !same(g.OptOutRate, w.OptOutRate) {
				t.Errorf("flow %d = %+v, want %+v", i, g, w)
			}
		}
		if rep.Sent != 104 || rep.Delivered != 62 || rep.Failed != 24 || !same(rep.DeliveryRate, f(62.0/104)) || !same(rep.OptOutRate, f(3.0/104)) {
			t.Errorf("delivery = %d %d %d %v %v", rep.Sent, rep.Delivered, rep.Failed, deref(rep.DeliveryRate), deref(rep.OptOutRate))
		}
		// Everyone but the two treatment contacts whose only send was
		// refused (t50, t70), plus the early run's contact.
		if rep.ContactsMessaged != 79 || !same(rep.MessagesPerContact, f(104.0/79)) {
			t.Errorf("contacts messaged = %d, per contact %v", rep.ContactsMessaged, deref(rep.MessagesPerContact))
		}
	})
}

func TestProgramReportEdges(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	rep, err := Program(ctx, db, histFrom, histFrom.Add(36*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Days) != 2 || rep.DeliveryRate != nil || rep.MessagesPerContact != nil || len(rep.Flows) != 0 {
		t.Errorf("empty program = %+v", rep)
	}
	if _, err := Program(ctx, db, histFrom, histFrom.AddDate(3, 0, 0)); smsflow.ErrorCode(err) != smsflow.EINVALID {
		t.Errorf("3 years: %v, want invalid", err)
	}
	if _, err := Program(ctx, db, histTo, histFrom); smsflow.ErrorCode(err) != smsflow.EINVALID {
		t.Errorf("reversed: %v, want invalid", err)
	}
}
