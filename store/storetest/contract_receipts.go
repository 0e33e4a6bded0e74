package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// addReceipts keeps receipts, each received at t0 plus its index in minutes.
func addReceipts(t testing.TB, db *store.DB, rs ...store.PendingReceipt) {
	t.Helper()
	write(t, db, func(tx *store.Tx) error {
		for i, r := range rs {
			if r.Provider == "" {
				r.Provider = "twilio"
			}
			if r.At.IsZero() {
				r.At = t0
			}
			if r.ReceivedAt.IsZero() {
				r.ReceivedAt = t0.Add(time.Duration(i) * time.Minute)
			}
			if err := tx.AddPendingReceipt(r); err != nil {
				return err
			}
		}
		return nil
	})
}

func receiptCases() []contractCase {
	return []contractCase{
		{"Tx.AddPendingReceipt", func(t *testing.T, db *store.DB) {
			want := store.PendingReceipt{Provider: "twilio", ProviderID: "SM1", Status: "delivered", ErrorCode: "0", At: t0, ReceivedAt: t0.Add(time.Second)}
			addReceipts(t, db, want)
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.TakePendingReceipts("twilio", "SM1"))(t)
				if len(got) != 1 || got[0].ID == 0 {
					t.Fatalf("kept %+v", got)
				}
				want.ID = got[0].ID
				equal(t, "kept receipt", got[0], want)
				return nil
			})
		}},
		{"Tx.TakePendingReceipts", func(t *testing.T, db *store.DB) {
			addReceipts(t, db, store.PendingReceipt{ProviderID: "SM1", Status: "sent"}, store.PendingReceipt{ProviderID: "SM2", Status: "sent"},
				store.PendingReceipt{ProviderID: "SM1", Status: "delivered"}, store.PendingReceipt{Provider: "smpp", ProviderID: "SM1", Status: "failed"})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.TakePendingReceipts("twilio", "SM1"))(t)
				var statuses []string
				for _, r := range got {
					statuses = append(statuses, r.Status)
				}
				equal(t, "in arrival order", statuses, []string{"sent", "delivered"})
				equal(t, "taken: gone", must(tx.TakePendingReceipts("twilio", "SM1"))(t), []store.PendingReceipt(nil))
				equal(t, "no id", must(tx.TakePendingReceipts("twilio", ""))(t), []store.PendingReceipt(nil))
				return nil
			})
			equal(t, "left", count(t, db, `SELECT COUNT(*) FROM pending_receipts`), int64(2))
		}},
		{"Tx.PendingReceiptIDs", func(t *testing.T, db *store.DB) {
			addReceipts(t, db, store.PendingReceipt{ProviderID: "SM1"}, store.PendingReceipt{ProviderID: "SM1"}, store.PendingReceipt{Provider: "smpp", ProviderID: "SM2"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "kept ids", must(tx.PendingReceiptIDs("twilio", []string{"SM1", "SM2", "SM3"}))(t), map[string]bool{"SM1": true})
				equal(t, "none asked", must(tx.PendingReceiptIDs("twilio", nil))(t), map[string]bool{})
				return nil
			})
		}},
		{"Tx.MatchedPendingReceipts", func(t *testing.T, db *store.DB) {
			addReceipts(t, db, store.PendingReceipt{ProviderID: "SM2"}, store.PendingReceipt{ProviderID: "SM1"}, store.PendingReceipt{ProviderID: "SM9"},
				store.PendingReceipt{ProviderID: "IN1"}, store.PendingReceipt{ProviderID: "SM1"})
			addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Provider: "twilio", ProviderID: "SM1"})
			addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana", Provider: "twilio", ProviderID: "SM2"})
			addMessage(t, db, smsflow.Message{Direction: "in", ContactID: "ana", Provider: "twilio", ProviderID: "IN1"})
			write(t, db, func(tx *store.Tx) error {
				var ids []string
				for _, r := range must(tx.MatchedPendingReceipts(10))(t) {
					ids = append(ids, r.ProviderID)
				}
				equal(t, "receipts whose message has the id, oldest first", ids, []string{"SM2", "SM1", "SM1"})
				equal(t, "limited", len(must(tx.MatchedPendingReceipts(1))(t)), 1)
				return nil
			})
		}},
		{"Tx.DeletePendingReceipt", func(t *testing.T, db *store.DB) {
			addReceipts(t, db, store.PendingReceipt{ProviderID: "SM1", Status: "sent"}, store.PendingReceipt{ProviderID: "SM1", Status: "delivered"})
			addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Provider: "twilio", ProviderID: "SM1"})
			write(t, db, func(tx *store.Tx) error {
				first := must(tx.MatchedPendingReceipts(1))(t)[0]
				if err := tx.DeletePendingReceipt(first.ID); err != nil {
					return err
				}
				left := must(tx.MatchedPendingReceipts(10))(t)
				equal(t, "left", len(left), 1)
				equal(t, "left", left[0].Status, "delivered")
				return nil
			})
		}},
		{"Tx.PrunePendingReceipts", func(t *testing.T, db *store.DB) {
			addReceipts(t, db, store.PendingReceipt{ProviderID: "SM1"}, store.PendingReceipt{ProviderID: "SM2"}, store.PendingReceipt{ProviderID: "SM3"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "pruned: received before the cutoff", must(tx.PrunePendingReceipts(t0.Add(time.Minute)))(t), int64(1))
				equal(t, "left", must(tx.PendingReceiptIDs("twilio", []string{"SM1", "SM2", "SM3"}))(t), map[string]bool{"SM2": true, "SM3": true})
				return nil
			})
		}},
		{"DB.EnqueueReceipts", func(t *testing.T, db *store.DB) {
			// 1, 3 (two statements in one transaction) and 300 (more than
			// one INSERT holds) receipts: all stored, in order.
			for _, n := range []int{1, 3, 300} {
				rs := queued(n)
				if err := db.EnqueueReceipts(bg, rs); err != nil {
					t.Fatal(err)
				}
				write(t, db, func(tx *store.Tx) error {
					got := must(tx.TakeReceipts(1000))(t)
					if len(got) != n {
						t.Fatalf("%d queued, %d taken", n, len(got))
					}
					for i := range got {
						if got[i].ID == 0 {
							t.Fatalf("taken without an id: %+v", got[i])
						}
						rs[i].ID = got[i].ID
					}
					equal(t, fmt.Sprintf("%d receipts", n), got, rs)
					return nil
				})
			}
			must(0, db.EnqueueReceipts(bg, nil))(t)
			equal(t, "none left", must(db.QueuedReceipts(bg))(t), int64(0))
		}},
		{"Tx.TakeReceipts", func(t *testing.T, db *store.DB) {
			must(0, db.EnqueueReceipts(bg, queued(5)))(t)
			write(t, db, func(tx *store.Tx) error {
				var ids []string
				for _, r := range must(tx.TakeReceipts(3))(t) {
					ids = append(ids, r.ProviderID)
				}
				equal(t, "oldest first, limited", ids, []string{"SM0", "SM1", "SM2"})
				return nil
			})
			// Taken only when the transaction commits.
			err := db.WriteTx(bg, func(tx *store.Tx) error {
				equal(t, "the rest", len(must(tx.TakeReceipts(10))(t)), 2)
				return errors.New("rolled back")
			})
			if err == nil {
				t.Fatal("the transaction committed")
			}
			equal(t, "back after a rollback", must(db.QueuedReceipts(bg))(t), int64(2))
		}},
		{"Tx.RequeueReceipts", func(t *testing.T, db *store.DB) {
			must(0, db.EnqueueReceipts(bg, queued(2)))(t)
			write(t, db, func(tx *store.Tx) error {
				first := must(tx.TakeReceipts(1))(t)
				must(0, tx.RequeueReceipts(first))(t)
				must(0, tx.RequeueReceipts(nil))(t)
				return nil
			})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.TakeReceipts(10))(t)
				var ids []string
				for _, r := range got {
					ids = append(ids, r.ProviderID)
				}
				equal(t, "put back at the end", ids, []string{"SM1", "SM0"})
				equal(t, "same times", got[1].ReceivedAt, t0)
				return nil
			})
		}},
		{"DB.QueuedReceipts", func(t *testing.T, db *store.DB) {
			equal(t, "empty", must(db.QueuedReceipts(bg))(t), int64(0))
			must(0, db.EnqueueReceipts(bg, queued(4)))(t)
			equal(t, "four", must(db.QueuedReceipts(bg))(t), int64(4))
		}},
		{"DB.ReceiptQueueDepth", func(t *testing.T, db *store.DB) {
			equal(t, "empty", must(db.ReceiptQueueDepth(bg))(t), int64(0))
			must(0, db.EnqueueReceipts(bg, queued(3)))(t)
			equal(t, "counted", must(db.ReceiptQueueDepth(bg))(t), int64(3))
			// Past what it counts one by one: the span of the queued ids.
			must(0, db.EnqueueReceipts(bg, queued(10_000)))(t)
			write(t, db, func(tx *store.Tx) error {
				equal(t, "taken", len(must(tx.TakeReceipts(2))(t)), 2)
				return nil
			})
			equal(t, "large: the span of the ids", must(db.ReceiptQueueDepth(bg))(t), int64(10_001))
			equal(t, "as counted", must(db.QueuedReceipts(bg))(t), int64(10_001))
		}},
		{"Tx.MessagesByID", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana"})
			b := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana", Status: "sent", Provider: "twilio", ProviderID: "SM2"})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.MessagesByID([]int64{b.ID, a.ID, 9999}))(t)
				equal(t, "found", len(got), 2)
				equal(t, "message b", got[b.ID], b)
				equal(t, "none asked", must(tx.MessagesByID(nil))(t), map[int64]*smsflow.Message{})
				return nil
			})
		}},
		{"Tx.MessagesByProviderIDs", func(t *testing.T, db *store.DB) {
			old := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Status: "sent", Provider: "twilio", ProviderID: "SM1"})
			newer := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana", Status: "sent", Provider: "twilio", ProviderID: "SM1"})
			two := addMessage(t, db, smsflow.Message{StepID: "keyword:c", ContactID: "ana", Status: "sent", Provider: "twilio", ProviderID: "SM2"})
			addMessage(t, db, smsflow.Message{StepID: "keyword:d", ContactID: "ana", Status: "sent", Provider: "smpp", ProviderID: "SM3"})
			addMessage(t, db, smsflow.Message{Direction: "in", ContactID: "ana", Provider: "twilio", ProviderID: "SM4"})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.MessagesByProviderIDs("twilio", []string{"SM1", "SM2", "SM3", "SM4", "SM5"}))(t)
				equal(t, "the newest of two with an id, outbound of this provider only",
					map[string]int64{"SM1": got["SM1"].ID, "SM2": got["SM2"].ID}, map[string]int64{"SM1": newer.ID, "SM2": two.ID})
				equal(t, "found", len(got), 2)
				if old.ID >= newer.ID {
					t.Fatalf("ids %d, %d", old.ID, newer.ID)
				}
				return nil
			})
		}},
		{"Tx.ApplyReceipts", func(t *testing.T, db *store.DB) {
			sent := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Status: "sent", ErrorCode: "x", Provider: "twilio", ProviderID: "SM1"})
			delivered := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana", Status: "delivered", Provider: "twilio", ProviderID: "SM2"})
			undelivered := addMessage(t, db, smsflow.Message{StepID: "keyword:c", ContactID: "ana", Status: "undelivered", ErrorCode: "30005", Provider: "twilio", ProviderID: "SM3"})
			canceled := addMessage(t, db, smsflow.Message{StepID: "keyword:d", ContactID: "ana", Status: "canceled"})
			in := addMessage(t, db, smsflow.Message{Direction: "in", ContactID: "ana", Status: "received", Provider: "twilio", ProviderID: "IN1"})
			later := t0.Add(time.Hour)
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.ApplyReceipts([]store.DeliveryUpdate{
					{ID: sent.ID, Status: "failed", ErrorCode: "30003"}, {ID: delivered.ID, Status: "failed"},
					{ID: undelivered.ID, Status: "delivered"}, {ID: canceled.ID, Status: "delivered"}, {ID: in.ID, Status: "delivered"}}, later))(t)
				equal(t, "forward moves only", got, map[int64]bool{sent.ID: true, undelivered.ID: true})
				equal(t, "none", must(tx.ApplyReceipts(nil, later))(t), map[int64]bool{})
				return nil
			})
			st := func(m *smsflow.Message) [3]string {
				got := messageByID(t, db, m.ID)
				return [3]string{got.Status, got.ErrorCode, got.UpdatedAt.Format(time.RFC3339)}
			}
			equal(t, "sent → failed with its code", st(sent), [3]string{"failed", "30003", later.Format(time.RFC3339)})
			equal(t, "undelivered → delivered keeps the code", st(undelivered), [3]string{"delivered", "30005", later.Format(time.RFC3339)})
			equal(t, "delivered stays", st(delivered), [3]string{"delivered", "", t0.Format(time.RFC3339)})
			equal(t, "canceled stays", st(canceled)[0], "canceled")
			// Many at once (several statements on PostgreSQL).
			var ups []store.DeliveryUpdate
			for i := range 3000 {
				m := addMessage(t, db, smsflow.Message{StepID: fmt.Sprintf("keyword:m%d", i), ContactID: "ana", Status: "sent", Provider: "twilio", ProviderID: fmt.Sprintf("SMm%d", i)})
				ups = append(ups, store.DeliveryUpdate{ID: m.ID, Status: "delivered"})
			}
			write(t, db, func(tx *store.Tx) error {
				equal(t, "all changed", len(must(tx.ApplyReceipts(ups, later))(t)), 3000)
				return nil
			})
			equal(t, "delivered", count(t, db, `SELECT COUNT(*) FROM messages WHERE status = 'delivered'`), int64(3002))
		}},
		{"Tx.AddPendingReceipts", func(t *testing.T, db *store.DB) {
			rs := []store.PendingReceipt{{Provider: "twilio", ProviderID: "SM1", Status: "sent", At: t0, ReceivedAt: t0},
				{Provider: "twilio", ProviderID: "SM1", Status: "delivered", ErrorCode: "0", At: t0, ReceivedAt: t0.Add(time.Second)},
				{Provider: "twilio", ProviderID: "SM2", Status: "failed", At: t0, ReceivedAt: t0}}
			write(t, db, func(tx *store.Tx) error {
				must(0, tx.AddPendingReceipts(rs))(t)
				must(0, tx.AddPendingReceipts(nil))(t)
				got := must(tx.TakePendingReceipts("twilio", "SM1"))(t)
				for i := range got {
					got[i].ID = 0
				}
				equal(t, "kept in order", got, rs[:2])
				equal(t, "the other", len(must(tx.TakePendingReceipts("twilio", "SM2"))(t)), 1)
				return nil
			})
		}},
	}
}

// queued returns n receipts SM0…, received at t0 plus their index in
// seconds.
func queued(n int) []store.QueuedReceipt {
	rs := make([]store.QueuedReceipt, n)
	for i := range rs {
		rs[i] = store.QueuedReceipt{Provider: "twilio", ProviderID: fmt.Sprintf("SM%d", i), MessageID: int64(i), Status: "delivered",
			ErrorCode: fmt.Sprint(i % 2), At: t0, ReceivedAt: t0.Add(time.Duration(i) * time.Second)}
	}
	return rs
}
