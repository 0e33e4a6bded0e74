package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestOutboxBySender: each sender claims only the messages queued for it
// ("" is the default sender's), a sent message records the address it went
// from, and RepointQueued hands the messages of a sender no longer
// configured to the default.
func TestOutboxBySender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
		senders := []string{"", "MG0123456789abcdef0123456789abcdef", "", "12345", "+15005550007", ""}
		ids := make([]int64, len(senders))
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for i, s := range senders {
				m := &smsflow.Message{Direction: "out", StepID: "keyword:help", ContactID: "c", Phone: "+14155550100", Body: "hi", Encoding: "GSM-7",
					Characters: 2, Segments: 1, Status: smsflow.MessageQueued, Sender: s, CreatedAt: now, UpdatedAt: now}
				if _, err := tx.InsertMessage(m); err != nil {
					return err
				}
				ids[i] = m.ID
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		claim := func(sender string) (out []int64) {
			t.Helper()
			err := db.WriteTx(ctx, func(tx *store.Tx) error {
				ms, err := tx.ClaimOutbox(now, 100, store.OutboxScope{Sender: sender})
				for _, m := range ms {
					if m.Sender != sender {
						t.Errorf("claim for %q returned message %d of %q", sender, m.ID, m.Sender)
					}
					out = append(out, m.ID)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got, want := claim("MG0123456789abcdef0123456789abcdef"), []int64{ids[1]}; !slices.Equal(got, want) {
			t.Errorf("the Messaging Service claimed %v, want %v", got, want)
		}
		if got, want := claim(""), []int64{ids[0], ids[2], ids[5]}; !slices.Equal(got, want) {
			t.Errorf("the default sender claimed %v, want %v", got, want)
		}
		// Sent by the default sender from its address; a message queued
		// for another sender keeps its own.
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.MarkSent("twilio", "+15005550006", []int64{ids[0], ids[1], ids[2]}, []string{"SM0", "SM1", "SM2"}, []string{"", "", ""}, now)
		})
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := db.Messages(ctx, store.MessageFilter{ContactID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]string{}
		for _, m := range msgs {
			got[m.ID] = m.Sender
		}
		if got[ids[0]] != "+15005550006" || got[ids[2]] != "+15005550006" || got[ids[1]] != "MG0123456789abcdef0123456789abcdef" || got[ids[5]] != "" {
			t.Errorf("senders after the round: %v", got)
		}
		// "12345" is no longer configured; "+15005550007" still is.
		n, err := db.RepointQueued(ctx, []string{"+15005550007"})
		if err != nil || n != 1 {
			t.Fatalf("RepointQueued = %d, %v; want 1", n, err)
		}
		if got, want := claim(""), []int64{ids[3]}; !slices.Equal(got, want) {
			t.Errorf("after repointing, the default claimed %v, want %v", got, want)
		}
		if got := claim("12345"); len(got) != 0 {
			t.Errorf("the removed sender still has %v", got)
		}
		if got, want := claim("+15005550007"), []int64{ids[4]}; !slices.Equal(got, want) {
			t.Errorf("a configured sender claimed %v, want %v", got, want)
		}
	})
}
