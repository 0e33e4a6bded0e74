package storetest

import (
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
	}
}
