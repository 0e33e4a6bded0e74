package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// batchCases cover the engine's explicit batch reads (one query per kind
// for many contacts or runs) and its set-based writers (D84).
func batchCases() []contractCase {
	return []contractCase{
		{"Tx.LoadContacts", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", ph)
			addContact(t, db, "bob", "")
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			ra := addRun(t, db, smsflow.Run{ContactID: "ana", WakeAt: t0})
			addRun(t, db, smsflow.Run{ContactID: "ana", FlowID: "promo", Status: smsflow.RunCompleted, EnteredAt: t0.Add(time.Minute)})
			addMessage(t, db, smsflow.Message{RunID: ra.ID, StepID: "hi", ContactID: "ana", Category: "promo", CreatedAt: t0.Add(time.Minute)})
			write(t, db, func(tx *store.Tx) error {
				all := must(tx.LoadContacts([]string{"bob", "ana", "zed", "ana"}, store.Load{OpenRuns: true, Entries: true, RecentSince: t0, Marketing: true}))(t)
				equal(t, "a state per id", len(all), 3)
				ana := all["ana"]
				equal(t, "contact", ana.Contact.ID, "ana")
				equal(t, "consent", ana.Consent, smsflow.ConsentSubscribed)
				equal(t, "open runs", runIDs(ana.OpenRuns), []int64{ra.ID})
				equal(t, "entries", ana.Entries, map[string]store.Entry{"welcome": {Last: t0, Open: true}, "promo": {Last: t0.Add(time.Minute)}})
				equal(t, "recent", len(ana.Recent), 1)
				equal(t, "marketing", ana.Marketing, map[string]bool{ph: true})
				equal(t, "no phone: no consent", all["bob"].Consent, smsflow.ConsentNone)
				equal(t, "missing contact", all["zed"].Contact, (*smsflow.Contact)(nil))
				bare := must(tx.LoadContacts([]string{"ana"}, store.Load{}))(t)["ana"]
				equal(t, "only what was asked", []any{bare.OpenRuns, bare.Entries, bare.Recent, bare.Marketing},
					[]any{[]*smsflow.Run(nil), map[string]store.Entry(nil), []store.SentRecord(nil), map[string]bool(nil)})
				return nil
			})
		}},
		{"Tx.OpenRunsOf", func(t *testing.T, db *store.DB) {
			late := addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0.Add(time.Hour)})
			early := addRun(t, db, smsflow.Run{ContactID: "ana", FlowID: "promo", Status: smsflow.RunActive})
			addRun(t, db, smsflow.Run{ContactID: "ana", Status: smsflow.RunExited})
			write(t, db, func(tx *store.Tx) error {
				open := must(tx.OpenRunsOf([]string{"ana", "bob"}))(t)
				equal(t, "oldest entry first, ended left out", runIDs(open["ana"]), []int64{early.ID, late.ID})
				equal(t, "an entry for every id", runIDs(open["bob"]), []int64{})
				return nil
			})
		}},
		{"Tx.EntriesOf", func(t *testing.T, db *store.DB) {
			addRun(t, db, smsflow.Run{ContactID: "ana", Status: smsflow.RunCompleted})
			addRun(t, db, smsflow.Run{ContactID: "ana", Status: smsflow.RunCompleted, EnteredAt: t0.Add(time.Hour), FlowVersion: 2})
			addRun(t, db, smsflow.Run{ContactID: "ana", FlowID: "promo", Status: smsflow.RunWaiting})
			write(t, db, func(tx *store.Tx) error {
				e := must(tx.EntriesOf([]string{"ana", "bob"}))(t)
				equal(t, "last entry of any version; open", e["ana"], map[string]store.Entry{"welcome": {Last: t0.Add(time.Hour)}, "promo": {Last: t0, Open: true}})
				equal(t, "an entry for every id", e["bob"], map[string]store.Entry{})
				return nil
			})
		}},
		{"Tx.MarketingOf", func(t *testing.T, db *store.DB) {
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			addMessage(t, db, smsflow.Message{RunID: 1, StepID: "a", ContactID: "ana", Category: "service", CreatedAt: t0.Add(time.Minute)})
			addMessage(t, db, smsflow.Message{RunID: 1, StepID: "b", ContactID: "ana", Category: "promo", Status: "canceled", CreatedAt: t0.Add(time.Minute)})
			addMessage(t, db, smsflow.Message{RunID: 1, StepID: "c", ContactID: "bob", Category: "lifecycle", Phone: ph, CreatedAt: t0.Add(time.Minute)})
			write(t, db, func(tx *store.Tx) error {
				m := must(tx.MarketingOf([]string{"ana", "bob"}))(t)
				equal(t, "service and canceled messages do not count", m["ana"], map[string]bool{})
				equal(t, "a counted marketing message", m["bob"], map[string]bool{ph: true})
				return nil
			})
		}},
		{"Tx.RecentSendsOf", func(t *testing.T, db *store.DB) {
			addMessage(t, db, smsflow.Message{RunID: 1, StepID: "old", ContactID: "ana", CreatedAt: t0})
			addMessage(t, db, smsflow.Message{RunID: 1, StepID: "b", ContactID: "ana", Category: "promo", CreatedAt: t0.Add(2 * time.Minute)})
			addMessage(t, db, smsflow.Message{RunID: 1, StepID: "a", ContactID: "ana", Category: "service", CreatedAt: t0.Add(time.Minute)})
			addMessage(t, db, smsflow.Message{RunID: 1, StepID: "x", ContactID: "ana", Status: "failed", CreatedAt: t0.Add(time.Minute)})
			write(t, db, func(tx *store.Tx) error {
				r := must(tx.RecentSendsOf([]string{"ana", "bob"}, t0))(t)
				equal(t, "counted sends after since, oldest first", r["ana"], []store.SentRecord{
					{At: t0.Add(time.Minute), Category: "service", FlowID: "welcome"}, {At: t0.Add(2 * time.Minute), Category: "promo", FlowID: "welcome"}})
				equal(t, "none", r["bob"], []store.SentRecord(nil))
				return nil
			})
		}},
		{"Tx.RunsByID", func(t *testing.T, db *store.DB) {
			a := addRun(t, db, smsflow.Run{ContactID: "ana", WakeAt: t0})
			b := addRun(t, db, smsflow.Run{ContactID: "bob", WakeAt: t0})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.RunsByID([]int64{b.ID, a.ID, b.ID + 100}))(t)
				equal(t, "read", got, map[int64]*smsflow.Run{a.ID: a, b.ID: b})
				return nil
			})
			if concurrent(db) {
				// Locked: another node's claim of due timers skips it.
				write(t, db, func(tx *store.Tx) error {
					must(tx.RunsByID([]int64{a.ID}))(t)
					return alongside(db, func(other *store.Tx) error {
						equal(t, "the locked run is skipped", must(other.DueRuns(t0.Add(time.Hour), 10))(t), []store.DueRun{{RunID: b.ID, ContactID: "bob"}})
						return nil
					})
				})
			}
		}},
		{"Tx.MessageSteps", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "hi", ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "later", ContactID: "ana", Status: "canceled"})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.MessageSteps([]int64{r.ID, r.ID + 1}))(t)
				equal(t, "steps with a message, canceled ones too", got, map[int64]map[string]bool{r.ID: {"hi": true, "later": true}, r.ID + 1: {}})
				return nil
			})
		}},
		{"Tx.ReserveRunID", func(t *testing.T, db *store.DB) {
			old := addRun(t, db, smsflow.Run{ContactID: "ana"})
			var ids []int64
			write(t, db, func(tx *store.Tx) error {
				for range 3 {
					ids = append(ids, must(tx.ReserveRunID())(t))
				}
				return nil
			})
			if ids[0] <= old.ID || ids[1] <= ids[0] || ids[2] <= ids[1] {
				t.Errorf("reserved %v after run %d: want increasing ids above it", ids, old.ID)
			}
			after := addRun(t, db, smsflow.Run{ContactID: "ana"})
			if after.ID == old.ID {
				t.Errorf("id %d given twice", after.ID)
			}
		}},
		{"Tx.InsertRuns", func(t *testing.T, db *store.DB) {
			a := &smsflow.Run{FlowID: "welcome", FlowVersion: 2, ContactID: "ana", Status: smsflow.RunWaiting, Step: "wait", WakeAt: t0.Add(time.Hour),
				Holdout: true, Variant: "b", State: smsflow.RunState{Reply: "yes", Variants: map[string]string{"split": "b"}, WaitStarted: t0},
				EnteredAt: t0, UpdatedAt: t0.Add(time.Second)}
			b := &smsflow.Run{FlowID: "promo", FlowVersion: 1, ContactID: "bob", Status: smsflow.RunActive, EnteredAt: t0, UpdatedAt: t0}
			write(t, db, func(tx *store.Tx) error {
				for _, r := range []*smsflow.Run{a, b} {
					r.ID = must(tx.ReserveRunID())(t)
				}
				return tx.InsertRuns([]*smsflow.Run{a, b})
			})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "stored", must(tx.RunsByID([]int64{a.ID, b.ID}))(t), map[int64]*smsflow.Run{a.ID: a, b.ID: b})
				return nil
			})
			equal(t, "the next run takes a new id", addRun(t, db, smsflow.Run{ContactID: "ana"}).ID > b.ID, true)
			write(t, db, func(tx *store.Tx) error { return tx.InsertRuns(nil) })
		}},
		{"Tx.UpdateRuns", func(t *testing.T, db *store.DB) {
			a := addRun(t, db, smsflow.Run{ContactID: "ana", WakeAt: t0.Add(time.Hour)})
			b := addRun(t, db, smsflow.Run{ContactID: "bob"})
			a.Status, a.ExitReason, a.WakeAt, a.EndedAt, a.GoalAt, a.GoalValue = smsflow.RunExited, "goal", time.Time{}, t0.Add(time.Minute), t0.Add(time.Minute), 12.5
			b.Step, b.State.Reply, b.UpdatedAt = "later", "STOP", t0.Add(time.Minute)
			write(t, db, func(tx *store.Tx) error { return tx.UpdateRuns([]*smsflow.Run{a, b}) })
			write(t, db, func(tx *store.Tx) error {
				equal(t, "stored", must(tx.RunsByID([]int64{a.ID, b.ID}))(t), map[int64]*smsflow.Run{a.ID: a, b.ID: b})
				equal(t, "no longer due", must(tx.DueRuns(t0.Add(2*time.Hour), 10))(t), []store.DueRun(nil))
				return tx.UpdateRuns(nil)
			})
		}},
		{"Tx.InsertDecisions", func(t *testing.T, db *store.DB) {
			ds := []*smsflow.Decision{
				{RunID: 7, StepID: "hi", FlowID: "welcome", ContactID: "ana", Reason: "sent", At: t0},
				{StepID: "entry", FlowID: "promo", ContactID: "ana", Reason: "skipped:reentry", Detail: "d", At: t0.Add(time.Second)},
			}
			write(t, db, func(tx *store.Tx) error { return tx.InsertDecisions(ds) })
			got := must(db.Decisions(bg, "ana", 10))(t)
			for i := range got {
				got[i].ID = 0
			}
			equal(t, "stored in order", got, []smsflow.Decision{*ds[0], *ds[1]})
			write(t, db, func(tx *store.Tx) error { return tx.InsertDecisions(nil) })
		}},
		{"Tx.InsertMessages", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "hi", ContactID: "ana", Body: "first"})
			ms := []*smsflow.Message{
				newMessage(smsflow.Message{RunID: r.ID, StepID: "hi", ContactID: "ana", Body: "again"}),
				newMessage(smsflow.Message{RunID: r.ID, StepID: "later", ContactID: "ana", Body: "later"}),
			}
			write(t, db, func(tx *store.Tx) error { return tx.InsertMessages(ms) })
			var bodies []string
			for _, m := range must(db.Messages(bg, store.MessageFilter{ContactID: "ana"}))(t) {
				bodies = append(bodies, m.Body)
			}
			equal(t, "a step's second message is not written (never twice)", bodies, []string{"later", "first"})
			write(t, db, func(tx *store.Tx) error { return tx.InsertMessages(nil) })
		}},
		{"Tx.ContactsByID", func(t *testing.T, db *store.DB) {
			ana := addContact(t, db, "ana", ph)
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.ContactsByID([]string{"ana", "zed"}))(t)
				equal(t, "read, a missing one nil", got, map[string]*smsflow.Contact{"ana": ana, "zed": nil})
				return nil
			})
		}},
		{"Tx.StoredEventKeys", func(t *testing.T, db *store.DB) {
			events := keyedEvents(t, db)
			again := events[1]
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.StoredEventKeys(events))(t)
				want := map[string]bool{}
				for _, e := range events {
					for _, k := range store.EventKeys(e) {
						want[k] = false
					}
				}
				for _, k := range append(store.EventKeys(events[0]), store.EventKeys(again)[1]) {
					want[k] = true
				}
				equal(t, "stored keys (a public event's own namespace)", got, want)
				return nil
			})
		}},
		{"Tx.ContactsAndEventKeys", func(t *testing.T, db *store.DB) {
			ana := addContact(t, db, "ana", "+14155550100")
			ana.Traits, ana.PublicTraits = map[string]any{"plan": "pro"}, []string{"plan"}
			write(t, db, func(tx *store.Tx) error { return tx.UpdateContact(ana) })
			addContact(t, db, "bob", "")
			events := keyedEvents(t, db)
			ids := []string{"ana", "bob", "nobody"}
			write(t, db, func(tx *store.Tx) error {
				// The same as the two reads it stands for, also with no
				// contact to read.
				contacts, keys, err := tx.ContactsAndEventKeys(ids, events)
				if err != nil {
					return err
				}
				equal(t, "contacts as ContactsByID reads them", contacts, must(tx.ContactsByID(ids))(t))
				equal(t, "keys as StoredEventKeys reads them", keys, must(tx.StoredEventKeys(events))(t))
				equal(t, "a stored key", keys["d:order:7"], true)
				equal(t, "a missing contact is nil", contacts["nobody"] == nil && contacts["ana"] != nil, true)
				contacts, keys, err = tx.ContactsAndEventKeys(nil, events[2:])
				if err != nil {
					return err
				}
				equal(t, "no contacts asked", len(contacts), 0)
				equal(t, "keys without contacts", keys, must(tx.StoredEventKeys(events[2:]))(t))
				return nil
			})
		}},
		{"Tx.ReserveEventSeq", func(t *testing.T, db *store.DB) {
			old := addEvent(t, db, newEvent("m1", "Viewed"))
			var seqs []int64
			write(t, db, func(tx *store.Tx) error {
				for range 3 {
					seqs = append(seqs, must(tx.ReserveEventSeq())(t))
				}
				return nil
			})
			if seqs[0] <= old || seqs[1] <= seqs[0] || seqs[2] <= seqs[1] {
				t.Errorf("reserved %v after event %d: want increasing numbers above it", seqs, old)
			}
		}},
		{"Tx.ReserveEventSeqs", func(t *testing.T, db *store.DB) {
			old := addEvent(t, db, newEvent("m1", "Viewed"))
			var seqs []int64
			write(t, db, func(tx *store.Tx) error {
				equal(t, "none asked", len(must(tx.ReserveEventSeqs(0))(t)), 0)
				seqs = append(seqs, must(tx.ReserveEventSeq())(t))
				seqs = append(seqs, must(tx.ReserveEventSeqs(700))(t)...)
				seqs = append(seqs, must(tx.ReserveEventSeq())(t))
				seqs = append(seqs, must(tx.ReserveEventSeqs(2))(t)...)
				return nil
			})
			equal(t, "how many", len(seqs), 704)
			for i, s := range seqs {
				if i == 0 && s <= old || i > 0 && s <= seqs[i-1] {
					t.Fatalf("reserved %d at %d after %v (stored event %d): want increasing numbers above it", s, i, seqs[max(0, i-3):i], old)
				}
			}
		}},
		{"Tx.InsertEvents", func(t *testing.T, db *store.DB) {
			events := []*smsflow.Event{newEvent("m1", "Viewed"), newEvent("m2", "Clicked")}
			write(t, db, func(tx *store.Tx) error {
				for _, e := range events {
					e.Seq = must(tx.ReserveEventSeq())(t)
				}
				return tx.InsertEvents(events)
			})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.EventsBySeq([]int64{events[0].Seq, events[1].Seq}))(t)
				equal(t, "stored with their numbers", []string{got[events[0].Seq].MessageID, got[events[1].Seq].MessageID}, []string{"m1", "m2"})
				return tx.InsertEvents(nil)
			})
			equal(t, "the next event takes a new number", addEvent(t, db, newEvent("m3", "Viewed")) > events[1].Seq, true)

			// Every field as the plain insert stores it: a dedupe key or
			// none (NULL: many events have none), a public event's own
			// key namespace, traits, context, times, trust.
			storedAsPlain(t, db, func(tx *store.Tx, batch []*smsflow.Event) error {
				seqs := must(tx.ReserveEventSeqs(len(batch)))(t)
				for i, e := range batch {
					e.Seq = seqs[i]
				}
				return tx.InsertEvents(batch)
			})
			equal(t, "no dedupe key is NULL", count(t, db, `SELECT COUNT(*) FROM events WHERE dedupe_key IS NULL AND message_id IN ('p1', 'b1')`), int64(2))
			equal(t, "a public dedupe key in its namespace", count(t, db, `SELECT COUNT(*) FROM events WHERE dedupe_key = ?`, store.PublicKeyPrefix+"order:4"), int64(1))

			// More rows than one statement of the row-per-VALUES form
			// could carry; a stored message id fails the transaction as
			// a conflict (the writer then runs it again and sees it).
			many := make([]*smsflow.Event, 1500)
			for i := range many {
				many[i] = newEvent(fmt.Sprintf("many-%d", i), "Viewed")
			}
			write(t, db, func(tx *store.Tx) error {
				seqs := must(tx.ReserveEventSeqs(len(many)))(t)
				for i, e := range many {
					e.Seq = seqs[i]
				}
				return tx.InsertEvents(many)
			})
			equal(t, "all stored", count(t, db, `SELECT COUNT(*) FROM events WHERE message_id LIKE 'many-%'`), int64(1500))
			err := db.WriteTx(bg, func(tx *store.Tx) error {
				e := newEvent("many-7", "Viewed")
				e.Seq = must(tx.ReserveEventSeqs(1))(t)[0]
				return tx.InsertEvents([]*smsflow.Event{e})
			})
			equal(t, "a stored message id fails the transaction", err != nil, true)
			equal(t, "nothing of it stored", count(t, db, `SELECT COUNT(*) FROM events WHERE message_id LIKE 'many-%'`), int64(1500))
		}},
		{"Tx.InsertNewEvents", func(t *testing.T, db *store.DB) {
			old := addEvent(t, db, newEvent("m0", "Viewed"))
			// Numbered in call order, after a number reserved before and
			// an event inserted at once before, and before both after.
			events := make([]*smsflow.Event, 40)
			for i := range events {
				events[i] = newEvent(fmt.Sprintf("n-%02d", i), "Viewed")
			}
			var before, after, single int64
			write(t, db, func(tx *store.Tx) error {
				before = must(tx.ReserveEventSeq())(t)
				single = must(tx.ReserveEventSeq())(t)
				must(tx.InsertEvent(newEvent("m-first", "Viewed")))(t)
				if err := tx.InsertNewEvents(events[:1]); err != nil {
					return err
				}
				if err := tx.InsertNewEvents(events[1:]); err != nil {
					return err
				}
				after = must(tx.ReserveEventSeq())(t)
				return tx.InsertNewEvents(nil)
			})
			for i, e := range events {
				if i == 0 && (e.Seq <= old || e.Seq <= before || e.Seq <= single) || i > 0 && e.Seq <= events[i-1].Seq {
					t.Fatalf("event %d numbered %d after %d (stored %d, reserved %d, %d): want increasing numbers above them", i, e.Seq, events[max(0, i-1)].Seq, old, before, single)
				}
			}
			equal(t, "a number reserved after comes after", after > events[len(events)-1].Seq, true)
			write(t, db, func(tx *store.Tx) error {
				for _, e := range events {
					equal(t, "stored under its number", must(tx.EventBySeq(e.Seq))(t).MessageID, e.MessageID)
				}
				return nil
			})

			// Every field as the plain insert stores it.
			storedAsPlain(t, db, func(tx *store.Tx, batch []*smsflow.Event) error { return tx.InsertNewEvents(batch) })
			equal(t, "no dedupe key is NULL", count(t, db, `SELECT COUNT(*) FROM events WHERE dedupe_key IS NULL AND message_id IN ('p1', 'b1')`), int64(2))

			// Many rows in one call; a stored message id fails the
			// transaction, which then stores nothing.
			many := make([]*smsflow.Event, 1500)
			for i := range many {
				many[i] = newEvent(fmt.Sprintf("many-%d", i), "Viewed")
			}
			write(t, db, func(tx *store.Tx) error { return tx.InsertNewEvents(many) })
			equal(t, "all stored", count(t, db, `SELECT COUNT(*) FROM events WHERE message_id LIKE 'many-%'`), int64(1500))
			for i := 1; i < len(many); i++ {
				if many[i].Seq <= many[i-1].Seq {
					t.Fatalf("many[%d] numbered %d after %d", i, many[i].Seq, many[i-1].Seq)
				}
			}
			err := db.WriteTx(bg, func(tx *store.Tx) error {
				return tx.InsertNewEvents([]*smsflow.Event{newEvent("fresh", "Viewed"), newEvent("many-7", "Viewed")})
			})
			equal(t, "a stored message id fails the transaction", err != nil, true)
			equal(t, "nothing of it stored", count(t, db, `SELECT COUNT(*) FROM events WHERE message_id IN ('fresh', 'many-7')`), int64(1))
		}},
		{"Tx.AddInboxItems", func(t *testing.T, db *store.DB) {
			a, b := addEvent(t, db, newEvent("m1", "Viewed")), addEvent(t, db, newEvent("m2", "Viewed"))
			write(t, db, func(tx *store.Tx) error {
				return tx.AddInboxItems([]store.InboxItem{{ContactID: "bob", EventSeq: b}, {ContactID: "ana", EventSeq: a}})
			})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.ClaimInbox(10))(t)
				equal(t, "in order", []any{len(got), got[0].EventSeq, got[0].ContactID, got[1].EventSeq}, []any{2, b, "bob", a})
				return tx.AddInboxItems(nil)
			})
		}},
	}
}

// storedAsPlain stores three events with InsertEvent and three like them
// with insert (a batch insert under test), and checks that each batch row
// is stored as the plain insert stores its twin: a dedupe key or none, a
// public event's key namespace, traits, context, times, trust.
func storedAsPlain(t *testing.T, db *store.DB, insert func(tx *store.Tx, batch []*smsflow.Event) error) {
	t.Helper()
	like := func(id, dedupe string, trust smsflow.Trust) *smsflow.Event {
		e := newEvent(id, "Order Completed")
		e.DedupeKey, e.Trust, e.AnonymousID = dedupe, trust, "anon-"+id
		e.Traits, e.Context = map[string]any{"plan": "pro"}, map[string]any{"ip": "192.0.2.1"}
		e.ReceivedAt = t0.Add(time.Second)
		return e
	}
	plain := []*smsflow.Event{like("p1", "", smsflow.TrustTrusted), like("p2", "order:1", smsflow.TrustTrusted), like("p3", "order:2", smsflow.TrustPublic)}
	batch := []*smsflow.Event{like("b1", "", smsflow.TrustTrusted), like("b2", "order:3", smsflow.TrustTrusted), like("b3", "order:4", smsflow.TrustPublic)}
	for _, e := range plain {
		addEvent(t, db, e)
	}
	write(t, db, func(tx *store.Tx) error { return insert(tx, batch) })
	write(t, db, func(tx *store.Tx) error {
		for i := range plain {
			p := must(tx.EventBySeq(plain[i].Seq))(t)
			b := must(tx.EventBySeq(batch[i].Seq))(t)
			p.Seq, p.MessageID, p.AnonymousID = b.Seq, b.MessageID, b.AnonymousID
			equal(t, "stored as the plain insert stores it", b, p)
		}
		return nil
	})
}

// keyedEvents stores m1 (Viewed) and m2 (an Order Completed with the dedupe
// key order:7) and returns a batch to look up: m1 again, m3 (another
// order:7), m4 (new) and m1 from a public caller (its own namespace).
func keyedEvents(t *testing.T, db *store.DB) []*smsflow.Event {
	t.Helper()
	addEvent(t, db, newEvent("m1", "Viewed"))
	ordered := newEvent("m2", "Order Completed")
	ordered.DedupeKey = "order:7"
	addEvent(t, db, ordered)
	again := newEvent("m3", "Order Completed")
	again.DedupeKey = "order:7"
	public := newEvent("m1", "Viewed")
	public.Trust = smsflow.TrustPublic
	return []*smsflow.Event{newEvent("m1", "Viewed"), again, newEvent("m4", "Viewed"), public}
}
