package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
)

const sender = "+15550001111"

func pacingCases() []contractCase {
	return []contractCase{
		{"Tx.LockPacing", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				equal(t, "a new sender", must(tx.LockPacing(sender))(t), store.PacingState{Sender: sender})
				if _, err := tx.ReservePacing(sender, t0, time.Second, 20000, 3); err != nil {
					return err
				}
				equal(t, "after a reservation", must(tx.LockPacing(sender))(t), store.PacingState{Sender: sender, NextFree: t0.Add(time.Second), Day: 20000, DayUsed: 3})
				return nil
			})
			if !concurrent(db) {
				return
			}
			done := make(chan struct{})
			write(t, db, func(tx *store.Tx) error {
				if _, err := tx.LockPacing(sender); err != nil {
					return err
				}
				go func() {
					_ = db.WriteTx(bg, func(tx2 *store.Tx) error { _, err := tx2.LockPacing(sender); return err })
					close(done)
				}()
				select {
				case <-done:
					t.Error("a second transaction locked a locked pacer")
				case <-time.After(200 * time.Millisecond):
				}
				return nil
			})
			<-done
		}},
		{"Tx.ReservePacing", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				if _, err := tx.ReservePacing(sender, t0, time.Second, 1, 1); err == nil {
					t.Error("a sender LockPacing never made: no error")
				}
				return nil
			})
			write(t, db, func(tx *store.Tx) error {
				_ = must(tx.LockPacing(sender))(t)
				equal(t, "first: from now", must(tx.ReservePacing(sender, t0, time.Second, 1, 2))(t), t0)
				equal(t, "second: from the next free instant", must(tx.ReservePacing(sender, t0, time.Second, 1, 2))(t), t0.Add(time.Second))
				equal(t, "later: from now", must(tx.ReservePacing(sender, t0.Add(time.Minute), 1500*time.Nanosecond, 1, 1))(t), t0.Add(time.Minute))
				return nil
			})
			st := must(db.Pacing(bg, sender))(t)
			equal(t, "a span rounded up to the microsecond", st.NextFree, t0.Add(time.Minute+2*time.Microsecond))
			equal(t, "segments of the day", st.DayUsed, 5)
			write(t, db, func(tx *store.Tx) error {
				_, err := tx.ReservePacing(sender, t0.Add(time.Hour), time.Second, 2, 4)
				return err
			})
			equal(t, "a new day counts anew", must(db.Pacing(bg, sender))(t).DayUsed, 4)
		}},
		{"Tx.RefundPacing", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				_ = must(tx.LockPacing(sender))(t)
				_ = must(tx.ReservePacing(sender, t0, time.Second, 7, 5))(t)
				if err := tx.RefundPacing(sender, 7, 2); err != nil {
					return err
				}
				return tx.RefundPacing(sender, 6, 2) // another day: nothing
			})
			st := must(db.Pacing(bg, sender))(t)
			equal(t, "refunded", st.DayUsed, 3)
			equal(t, "next free not moved back", st.NextFree, t0.Add(time.Second))
			write(t, db, func(tx *store.Tx) error { return tx.RefundPacing(sender, 7, 10) })
			equal(t, "never below zero", must(db.Pacing(bg, sender))(t).DayUsed, 0)
		}},
		{"DB.Pacing", func(t *testing.T, db *store.DB) {
			equal(t, "none", must(db.Pacing(bg, sender))(t), store.PacingState{Sender: sender})
			write(t, db, func(tx *store.Tx) error {
				_ = must(tx.LockPacing(sender))(t)
				_, err := tx.ReservePacing(sender, t0, time.Second, 9, 1)
				return err
			})
			equal(t, "stored", must(db.Pacing(bg, sender))(t), store.PacingState{Sender: sender, NextFree: t0.Add(time.Second), Day: 9, DayUsed: 1})
		}},
	}
}
