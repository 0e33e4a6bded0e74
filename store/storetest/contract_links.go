package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

func linkCases() []contractCase {
	link := &store.Link{Code: "abc123", URL: "https://glow.example/p?utm_source=sms", RunID: 7, StepID: "hi", FlowID: "welcome", ContactID: "ana", CreatedAt: t0}
	return []contractCase{
		{"Tx.InsertLink", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				equal(t, "new code", must(tx.InsertLink(link))(t), true)
				other := *link
				other.URL = "https://elsewhere.example"
				equal(t, "a taken code", must(tx.InsertLink(&other))(t), false)
				return nil
			})
			equal(t, "stored", *must(db.LinkByCode(bg, link.Code))(t), *link)
		}},
		{"DB.LinkByCode", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error { _, err := tx.InsertLink(link); return err })
			equal(t, "found", *must(db.LinkByCode(bg, link.Code))(t), *link)
			if _, err := db.LinkByCode(bg, "nope"); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				t.Errorf("a missing code: %v, want not_found", err)
			}
		}},
		{"Tx.InsertClick", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				if _, err := tx.InsertLink(link); err != nil {
					return err
				}
				if err := tx.InsertClick(link, t0.Add(time.Minute)); err != nil {
					return err
				}
				return tx.InsertClick(link, t0.Add(2*time.Minute)) // every click counts
			})
			equal(t, "clicks", count(t, db, `SELECT COUNT(*) FROM link_clicks WHERE code = ? AND run_id = ? AND step_id = ? AND contact_id = ?`, link.Code, link.RunID, link.StepID, link.ContactID), int64(2))
		}},
		{"Tx.StepClicked", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				if _, err := tx.InsertLink(link); err != nil {
					return err
				}
				equal(t, "before a click", must(tx.StepClicked(link.RunID, link.StepID))(t), false)
				if err := tx.InsertClick(link, t0); err != nil {
					return err
				}
				equal(t, "clicked", must(tx.StepClicked(link.RunID, link.StepID))(t), true)
				equal(t, "another step", must(tx.StepClicked(link.RunID, "bye"))(t), false)
				return nil
			})
		}},
		{"Tx.InsertDecision", func(t *testing.T, db *store.DB) {
			d := &smsflow.Decision{RunID: 7, StepID: "hi", FlowID: "welcome", ContactID: "ana", Reason: "sent", Detail: "ok", At: t0}
			write(t, db, func(tx *store.Tx) error { return tx.InsertDecision(d) })
			_ = db.WriteTx(bg, func(tx *store.Tx) error {
				_ = tx.InsertDecision(&smsflow.Decision{ContactID: "ana", Reason: "x", At: t0})
				return smsflow.Errorf(smsflow.EINTERNAL, "roll back")
			})
			got := must(db.Decisions(bg, "ana", 10))(t)
			equal(t, "stored", len(got), 1)
			if got[0].ID == 0 {
				t.Error("no id")
			}
			got[0].ID = 0
			equal(t, "decision", got[0], *d)
		}},
		{"DB.Decisions", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				for _, d := range []smsflow.Decision{
					{ContactID: "ana", Reason: "b", At: t0.Add(time.Minute)},
					{ContactID: "ana", Reason: "a", At: t0},
					{ContactID: "bob", Reason: "x", At: t0},
					{ContactID: "ana", Reason: "c", At: t0.Add(time.Minute)},
				} {
					if err := tx.InsertDecision(&d); err != nil {
						return err
					}
				}
				return nil
			})
			var reasons []string
			for _, d := range must(db.Decisions(bg, "ana", 10))(t) {
				reasons = append(reasons, d.Reason)
			}
			equal(t, "oldest first, then in recording order", reasons, []string{"a", "b", "c"})
			equal(t, "limited", len(must(db.Decisions(bg, "ana", 2))(t)), 2)
		}},
	}
}
