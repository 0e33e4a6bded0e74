package storetest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// closesTheDatabase are the cases that close theirs: Exercise gives each a
// database of its own.
var closesTheDatabase = map[string]bool{"DB.Close": true, "DB.OnClose": true, "DB.Every": true}

// databaseCases are the database's own: transactions (a failed one,
// batch writes included, writes nothing), migrations, settings and marks, the Shopify claims, the gauges and
// timeline that read across tables, and the life of the handle.
func databaseCases() []contractCase {
	return []contractCase{
		{"DB.WriteTx", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error { return tx.SetAlias("a", "ana") })
			boom := errors.New("boom")
			err := db.WriteTx(bg, func(tx *store.Tx) error {
				if err := tx.SetAlias("b", "bob"); err != nil {
					return err
				}
				if err := tx.InsertRun(&smsflow.Run{FlowID: "welcome", FlowVersion: 1, ContactID: "bob", Status: smsflow.RunActive, EnteredAt: t0, UpdatedAt: t0}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("WriteTx returned %v, want fn's error", err)
			}
			write(t, db, func(tx *store.Tx) error {
				equal(t, "committed", must(tx.AliasContact("a"))(t), "ana")
				equal(t, "rolled back", must(tx.AliasContact("b"))(t), "")
				return nil
			})
			equal(t, "a run rolled back too", must(db.CountRuns(bg, ""))(t), int64(0))
			// Nothing of a failed batch is written: its set-based writes
			// roll back with it, whichever failed.
			ana := addRun(t, db, smsflow.Run{ContactID: "ana"})
			err = db.WriteTx(bg, func(tx *store.Tx) error {
				id := must(tx.ReserveRunID())(t)
				n := &smsflow.Run{ID: id, FlowID: "welcome", FlowVersion: 1, ContactID: "bob", Status: smsflow.RunActive, EnteredAt: t0, UpdatedAt: t0}
				if err := tx.InsertRuns([]*smsflow.Run{n}); err != nil {
					return err
				}
				ended := *ana
				ended.Status = smsflow.RunCompleted
				if err := tx.UpdateRuns([]*smsflow.Run{&ended}); err != nil {
					return err
				}
				if err := tx.InsertMessages([]*smsflow.Message{newMessage(smsflow.Message{RunID: id, StepID: "hi", ContactID: "bob"})}); err != nil {
					return err
				}
				if err := tx.InsertDecisions([]*smsflow.Decision{{RunID: id, StepID: "hi", FlowID: "welcome", ContactID: "bob", Reason: "sent", At: t0}}); err != nil {
					return err
				}
				seq := must(tx.ReserveEventSeq())(t)
				if err := tx.InsertEvents([]*smsflow.Event{{Seq: seq, MessageID: "m-batch", Type: "track", Name: "Viewed", ContactID: "bob", Timestamp: t0, ReceivedAt: t0}}); err != nil {
					return err
				}
				if err := tx.AddInboxItems([]store.InboxItem{{ContactID: "bob", EventSeq: seq}}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("WriteTx returned %v, want fn's error", err)
			}
			equal(t, "runs", must(db.CountRuns(bg, ""))(t), int64(1))
			equal(t, "the stored run unchanged", must(db.CountRuns(bg, smsflow.RunWaiting))(t), int64(1))
			equal(t, "messages", len(must(db.Messages(bg, store.MessageFilter{}))(t)), 0)
			equal(t, "decisions", len(must(db.Decisions(bg, "bob", 10))(t)), 0)
			equal(t, "events", must(db.CountEvents(bg))(t), int64(0))
			equal(t, "inbox", must(db.InboxDepth(bg))(t), int64(0))
		}},
		{"DB.Migrate", func(t *testing.T, db *store.DB) {
			equal(t, "already migrated", must(db.Migrate(bg))(t), 0)
			if v := must(db.SchemaVersion(bg))(t); v < 1 {
				t.Errorf("schema version %d", v)
			}
		}},
		{"DB.SchemaState", func(t *testing.T, db *store.DB) {
			none, pending, err := db.SchemaState(bg)
			equal(t, "a migrated database", []any{none, pending, err}, []any{false, []string(nil), error(nil)})
		}},
		{"DB.SchemaVersion", func(t *testing.T, db *store.DB) {
			v := must(db.SchemaVersion(bg))(t)
			equal(t, "the last migration", count(t, db, `SELECT MAX(version) FROM schema_migrations`), v)
			if v < 17 {
				t.Errorf("schema version %d, want at least the 17 migrations of today", v)
			}
		}},
		{"DB.Setting", func(t *testing.T, db *store.DB) {
			v, ok, err := db.Setting(bg, "write_key")
			equal(t, "missing", []any{v, ok, err}, []any{"", false, error(nil)})
			must2(db.SettingOrInit(bg, "write_key", func() string { return "k1" }))(t)
			v, ok, err = db.Setting(bg, "write_key")
			equal(t, "stored", []any{v, ok, err}, []any{"k1", true, error(nil)})
		}},
		{"DB.SettingOrInit", func(t *testing.T, db *store.DB) {
			v, created, err := db.SettingOrInit(bg, "write_key", func() string { return "first" })
			equal(t, "first", []any{v, created, err}, []any{"first", true, error(nil)})
			v, created, err = db.SettingOrInit(bg, "write_key", func() string { t.Error("init called again"); return "second" })
			equal(t, "second", []any{v, created, err}, []any{"first", false, error(nil)})
		}},
		{"DB.Settings", func(t *testing.T, db *store.DB) {
			equal(t, "none asked", must(db.Settings(bg))(t), map[string]string{})
			must2(db.SettingOrInit(bg, "write_key", func() string { return "k1" }))(t)
			got := must(db.Settings(bg, "write_key", "admin_key"))(t)
			equal(t, "one stored, one missing", got, map[string]string{"write_key": "k1"})
		}},
		{"DB.SetSettings", func(t *testing.T, db *store.DB) {
			must2(db.SettingOrInit(bg, "write_key", func() string { return "k1" }))(t)
			must(0, db.SetSettings(bg, map[string]string{"write_key": "k2", "write_key_previous": "k1"}))(t)
			got := must(db.Settings(bg, "write_key", "write_key_previous"))(t)
			equal(t, "replaced and added together", got, map[string]string{"write_key": "k2", "write_key_previous": "k1"})
			must(0, db.SetSettings(bg, map[string]string{"write_key_previous": ""}))(t)
			v, ok := must2(db.Setting(bg, "write_key_previous"))(t)
			equal(t, "an empty value is stored as such", []any{v, ok}, []any{"", true})
		}},
		{"DB.ShutDownCleanly", func(t *testing.T, db *store.DB) {
			equal(t, "a new database", db.ShutDownCleanly(bg), false)
			must(0, db.MarkCleanShutdown(bg, t0))(t)
			equal(t, "marked", db.ShutDownCleanly(bg), true)
		}},
		{"DB.MarkCleanShutdown", func(t *testing.T, db *store.DB) {
			must(0, db.MarkCleanShutdown(bg, t0))(t)
			must(0, db.MarkCleanShutdown(bg, t0.Add(time.Hour)))(t) // twice: no conflict
			v, ok := must2(db.Setting(bg, "clean_shutdown"))(t)
			equal(t, "the mark holds the time", []any{v, ok}, []any{t0.Add(time.Hour).Format(time.RFC3339), true})
		}},
		{"DB.ClearCleanShutdown", func(t *testing.T, db *store.DB) {
			must(0, db.ClearCleanShutdown(bg))(t) // none: nothing to do
			must(0, db.MarkCleanShutdown(bg, t0))(t)
			must(0, db.ClearCleanShutdown(bg))(t)
			equal(t, "cleared", db.ShutDownCleanly(bg), false)
		}},
		{"DB.ChecksIntegrity", func(t *testing.T, db *store.DB) {
			equal(t, "checks its file", db.ChecksIntegrity(), db.Dialect().Name() == "sqlite")
		}},
		{"DB.QuickCheck", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", ph)
			equal(t, "problems of a sound database", must(db.QuickCheck(bg))(t), []string(nil))
		}},
		{"Tx.ClaimShopifyWebhook", func(t *testing.T, db *store.DB) {
			_ = db.WriteTx(bg, func(tx *store.Tx) error {
				equal(t, "first delivery", must(tx.ClaimShopifyWebhook("w1", "orders/create", "glow", t0))(t), true)
				return errors.New("storing what it means failed")
			})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "a retry of a delivery that failed", must(tx.ClaimShopifyWebhook("w1", "orders/create", "glow", t0))(t), true)
				return nil
			})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "a retry of a stored delivery", must(tx.ClaimShopifyWebhook("w1", "orders/create", "glow", t0))(t), false)
				return nil
			})
		}},
		{"DB.ShopifyWebhookSeen", func(t *testing.T, db *store.DB) {
			equal(t, "unknown", must(db.ShopifyWebhookSeen(bg, "w1"))(t), false)
			write(t, db, func(tx *store.Tx) error {
				_, err := tx.ClaimShopifyWebhook("w1", "orders/create", "glow", t0)
				return err
			})
			equal(t, "claimed", must(db.ShopifyWebhookSeen(bg, "w1"))(t), true)
		}},
		{"Tx.PruneShopifyWebhooks", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				for i, id := range []string{"w1", "w2", "w3"} {
					if _, err := tx.ClaimShopifyWebhook(id, "orders/create", "glow", t0.Add(time.Duration(i)*time.Hour)); err != nil {
						return err
					}
				}
				equal(t, "pruned", must(tx.PruneShopifyWebhooks(t0.Add(90*time.Minute)))(t), int64(2))
				return nil
			})
			equal(t, "w3 kept", must(db.ShopifyWebhookSeen(bg, "w3"))(t), true)
			equal(t, "w1 gone", must(db.ShopifyWebhookSeen(bg, "w1"))(t), false)
		}},
		{"DB.MetricsGauges", func(t *testing.T, db *store.DB) {
			g := must(db.MetricsGauges(bg))(t)
			equal(t, "empty", *g, store.Gauges{Runs: map[string]int64{}})
			r := addRun(t, db, smsflow.Run{ContactID: "ana", WakeAt: t0.Add(time.Hour)})
			addRun(t, db, smsflow.Run{ContactID: "bob", Status: smsflow.RunCompleted})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "a", ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "b", ContactID: "ana"})
			addMessage(t, db, smsflow.Message{Direction: "in", ContactID: "ana", Provider: "twilio", Status: "received"})
			addInbox(t, db, "ana", 1)
			g = must(db.MetricsGauges(bg))(t)
			equal(t, "gauges", *g, store.Gauges{Runs: map[string]int64{"waiting": 1, "completed": 1},
				Messages: []store.MessageCount{{Direction: "in", Provider: "twilio", Status: "received", N: 1}, {Direction: "out", Provider: "", Status: "queued", N: 2}},
				Inbox:    1, NextWake: t0.Add(time.Hour)})
		}},
		{"DB.Timeline", func(t *testing.T, db *store.DB) {
			c := addContact(t, db, "ana", ph)
			e := newEvent("m1", "Viewed")
			e.Timestamp = t0.Add(-time.Hour)
			addEvent(t, db, e)
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "hi", ContactID: "ana", CreatedAt: t0.Add(time.Minute)})
			write(t, db, func(tx *store.Tx) error {
				return tx.InsertDecision(&smsflow.Decision{RunID: r.ID, StepID: "hi", FlowID: "welcome", ContactID: "ana", Reason: "sent", At: t0.Add(2 * time.Minute)})
			})
			bob := newEvent("x", "Viewed")
			bob.ContactID = "bob"
			addEvent(t, db, bob)
			var got []string
			for _, it := range must(db.Timeline(bg, c))(t) {
				got = append(got, it.Type+":"+it.Name)
			}
			equal(t, "the contact's items, oldest first", got, []string{"event:Viewed", "consent:subscribed", "message:outbound", "decision:sent"})
		}},
		{"DB.ReadQuery", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", "")
			addContact(t, db, "bob", "")
			rows, err := db.ReadQuery(bg, `SELECT id FROM contacts WHERE id <> ? ORDER BY id`, "cy")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var ids []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			equal(t, "rows", ids, []string{"ana", "bob"})
		}},
		{"DB.ReadQueryRow", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", "")
			var n int
			if err := db.ReadQueryRow(bg, `SELECT COUNT(*) FROM contacts WHERE id = ? OR id = ?`, "ana", "bob").Scan(&n); err != nil {
				t.Fatal(err)
			}
			equal(t, "count", n, 1)
		}},
		{"DB.Ping", func(t *testing.T, db *store.DB) {
			equal(t, "ping", db.Ping(bg), error(nil))
		}},
		{"DB.Warm", func(t *testing.T, db *store.DB) {
			// Its statement names the serving path's tables: one missing
			// fails it. (How many connections it opened: store's own test.)
			equal(t, "warm", db.Warm(bg), error(nil))
			write(t, db, func(tx *store.Tx) error { return tx.SetAlias("a", "ana") })
		}},
		{"DB.Close", func(t *testing.T, db *store.DB) {
			equal(t, "close", db.Close(), error(nil))
			equal(t, "close again", db.Close(), error(nil))
			if db.Ping(bg) == nil {
				t.Error("a closed database answers")
			}
		}},
		{"DB.OnClose", func(t *testing.T, db *store.DB) {
			var order []string
			db.OnClose(func() { order = append(order, "first") })
			db.OnClose(func() { order = append(order, "second") })
			_ = db.Close()
			_ = db.Close()
			equal(t, "run once each, in order", order, []string{"first", "second"})
		}},
		{"DB.Every", func(t *testing.T, db *store.DB) {
			var n atomic.Int64
			db.Every(time.Millisecond, func() { n.Add(1) })
			deadline := time.Now().Add(5 * time.Second)
			for n.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			_ = db.Close()
			after := n.Load()
			if after < 2 {
				t.Fatalf("ran %d times in 5 s", after)
			}
			time.Sleep(10 * time.Millisecond)
			equal(t, "no run after Close", n.Load(), after)
		}},
		{"DB.SingleWriter", func(t *testing.T, db *store.DB) {
			equal(t, "one writer for the whole file", db.SingleWriter(), db.Dialect().Name() == "sqlite")
		}},
		{"DB.IsConflict", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", "")
			err := db.WriteTx(bg, func(tx *store.Tx) error {
				return tx.InsertContact(&smsflow.Contact{ID: "ana", CreatedAt: t0, UpdatedAt: t0})
			})
			if err == nil {
				t.Fatal("a duplicate contact was stored")
			}
			// Only where writers run at once: on SQLite, one writer never
			// collides with another.
			equal(t, "a unique violation", db.IsConflict(err), concurrent(db))
			equal(t, "no error", db.IsConflict(nil), false)
			equal(t, "not the database's", db.IsConflict(errors.New("duplicate key")), false)
		}},
		{"DB.IsBusy", func(t *testing.T, db *store.DB) {
			// A real SQLITE_BUSY needs a second handle on the same file:
			// store/sqlite's TestBusyIsReported.
			addContact(t, db, "ana", "")
			err := db.WriteTx(bg, func(tx *store.Tx) error {
				return tx.InsertContact(&smsflow.Contact{ID: "ana", CreatedAt: t0, UpdatedAt: t0})
			})
			equal(t, "a constraint error", db.IsBusy(err), false)
			equal(t, "no error", db.IsBusy(nil), false)
			equal(t, "not the database's", db.IsBusy(errors.New("database is locked")), false)
		}},
	}
}

// must2 is must for two results.
func must2[A, B any](a A, b B, err error) func(testing.TB) (A, B) {
	return func(t testing.TB) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}
