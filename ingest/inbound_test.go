package ingest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// subscribe creates the contact of a number (by an ordinary text) and
// subscribes it through the API path.
func subscribe(t *testing.T, db *store.DB, clk *testkit.Clock, from string) string {
	t.Helper()
	res := testkit.Text(t, db, clk, from, "hello", testkit.InboundOptions())
	if _, err := ingest.RecordConsent(ctx, db, clk, res.ContactID, ingest.ConsentChange{Status: smsflow.ConsentSubscribed,
		Source: smsflow.SourceWebForm, Evidence: map[string]any{"form": "https://glow.example/sms"}}, ingest.OptInOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	return res.ContactID
}

// inboxNames takes the events waiting in the engine's inbox for a contact
// out of it and returns their names, in order.
func inboxNames(t *testing.T, db *store.DB, contactID string) []string {
	t.Helper()
	events, err := db.EventsByContact(ctx, contactID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	bySeq := map[int64]smsflow.Event{}
	for _, e := range events {
		bySeq[e.Seq] = e
	}
	var names []string
	err = db.WriteTx(ctx, func(tx *store.Tx) error {
		items, err := tx.ClaimInbox(10000)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.ContactID == contactID {
				names = append(names, bySeq[it.EventSeq].Name)
				if err := tx.DeleteInboxItems([]int64{it.Seq}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestInboundStopKeywords(t *testing.T) {
	bodies := []string{"STOP", "stop", " Stop ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "opt out", "Arret", "Stop!"}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		for i, body := range bodies {
			from := fmt.Sprintf("+1415555%04d", 1000+i)
			id := subscribe(t, db, clk, from)
			inboxNames(t, db, id) // drain what subscribing queued

			res := testkit.Text(t, db, clk, from, body, testkit.InboundOptions())
			if res.Keyword != "stop" || res.Consent != smsflow.ConsentUnsubscribed || res.Event != "" || res.ReplyMessageID == 0 {
				t.Fatalf("%q: result %+v", body, res)
			}
			cons := testkit.Consent(t, db, from)
			last := cons.Ledger[len(cons.Ledger)-1]
			if cons.Status != smsflow.ConsentUnsubscribed || last.Source != smsflow.SourceKeyword || last.Evidence["body"] != body ||
				last.Evidence["message_id"] != float64(res.MessageID) {
				t.Fatalf("%q: ledger entry %+v", body, last)
			}
			// The engine sees the opt-out, and no Message Replied.
			if got := inboxNames(t, db, id); len(got) != 1 || got[0] != smsflow.EventUnsubscribed {
				t.Fatalf("%q: inbox %v, want only %s", body, got, smsflow.EventUnsubscribed)
			}
			out := testkit.Outbound(t, db, id)
			if len(out) != 1 {
				t.Fatalf("%q: %d outbound messages, want 1 confirmation", body, len(out))
			}
			m := out[0]
			if m.ID != res.ReplyMessageID || m.Status != smsflow.MessageQueued || m.RunID != 0 || m.FlowID != "" || m.StepID != "keyword:stop" ||
				m.Category != "service" || !strings.HasPrefix(m.Body, "Glow: ") || !strings.Contains(m.Body, "START") || m.SendBefore.IsZero() {
				t.Fatalf("%q: confirmation %+v", body, m)
			}

			// A second STOP within 24 h: recorded, no second confirmation.
			clk.Add(time.Hour)
			res2 := testkit.Text(t, db, clk, from, body, testkit.InboundOptions())
			if res2.Keyword != "stop" || res2.ReplyMessageID != 0 || res2.ReplySkipped != policy.ReplySkippedOptOutConfirmed {
				t.Fatalf("%q again: %+v", body, res2)
			}
			if n := len(testkit.Outbound(t, db, id)); n != 1 {
				t.Fatalf("%q again: %d outbound messages, want still 1", body, n)
			}
			if n := len(testkit.Consent(t, db, from).Ledger); n != 3 {
				t.Fatalf("%q again: ledger has %d entries, want 3 (subscribe, stop, stop)", body, n)
			}
		}
	})
}

func TestInboundStopConfirmationAfter24h(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		from := "+14155550100"
		// A never-subscribed number gets the compliant reply too.
		res := testkit.Text(t, db, clk, from, "STOP", testkit.InboundOptions())
		if res.ReplyMessageID == 0 || res.Consent != smsflow.ConsentUnsubscribed {
			t.Fatalf("first STOP: %+v", res)
		}
		clk.Add(23*time.Hour + 59*time.Minute)
		if res := testkit.Text(t, db, clk, from, "stop", testkit.InboundOptions()); res.ReplyMessageID != 0 {
			t.Fatalf("STOP at 23:59: %+v", res)
		}
		clk.Add(time.Minute)
		res3 := testkit.Text(t, db, clk, from, "stop", testkit.InboundOptions())
		if res3.ReplyMessageID == 0 {
			t.Fatalf("STOP after 24 h: %+v", res3)
		}
		out := testkit.Outbound(t, db, res.ContactID)
		if len(out) != 2 || out[0].StepID != out[1].StepID {
			t.Fatalf("want two confirmations with the same step id (run-less rows never collide), got %d", len(out))
		}
	})
}

func TestInboundRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		for i, body := range []string{"stop it please", "Please stop texting me!", "unsubscribe me", "remove me from this list", "no more texts"} {
			from := fmt.Sprintf("+1415555%04d", 2000+i)
			id := subscribe(t, db, clk, from)
			inboxNames(t, db, id)
			res := testkit.Text(t, db, clk, from, body, testkit.InboundOptions())
			if res.Keyword != "revocation" || res.Consent != smsflow.ConsentUnsubscribed || res.Event != smsflow.EventMessageReplied || res.ReplyMessageID == 0 {
				t.Fatalf("%q: %+v", body, res)
			}
			// The opt-out reaches the engine before the (flagged) reply.
			if got := inboxNames(t, db, id); len(got) != 2 || got[0] != smsflow.EventUnsubscribed || got[1] != smsflow.EventMessageReplied {
				t.Fatalf("%q: inbox %v", body, got)
			}
			events, err := db.EventsByContact(ctx, id, 100)
			if err != nil {
				t.Fatal(err)
			}
			var flagged bool
			for _, e := range events {
				if e.Name == smsflow.EventMessageReplied && e.Properties["revocation"] == true && e.Properties["text"] == strings.TrimSpace(body) {
					flagged = true
				}
			}
			if !flagged {
				t.Fatalf("%q: no Message Replied event flagged revocation: %+v", body, events)
			}
			cons := testkit.Consent(t, db, from)
			if last := cons.Ledger[len(cons.Ledger)-1]; last.Source != smsflow.SourceKeyword || last.Evidence["revocation"] != true {
				t.Fatalf("%q: ledger entry %+v", body, last)
			}
			if out := testkit.Outbound(t, db, id); len(out) != 1 || out[0].StepID != "keyword:stop" {
				t.Fatalf("%q: outbound %+v", body, out)
			}
		}
	})
}

func TestInboundOrdinaryReply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		from := "+14155550101"
		id := subscribe(t, db, clk, from)
		inboxNames(t, db, id)
		for _, body := range []string{"the bus stop is near", "yes", "1"} {
			res := testkit.Text(t, db, clk, from, body, testkit.InboundOptions())
			if res.Keyword != "" || res.Consent != "" || res.Event != smsflow.EventMessageReplied || res.ReplyMessageID != 0 || res.ReplySkipped != "" {
				t.Fatalf("%q: %+v", body, res)
			}
		}
		if got := inboxNames(t, db, id); len(got) != 3 {
			t.Fatalf("inbox %v, want three Message Replied", got)
		}
		if out := testkit.Outbound(t, db, id); len(out) != 0 {
			t.Fatalf("no automatic reply to ordinary texts, got %+v", out)
		}
		if st := testkit.Consent(t, db, "+14155550101").Status; st != smsflow.ConsentSubscribed {
			t.Fatalf("consent %s", st)
		}
	})
}

func TestInboundHelpAndStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		from := "+14155550102"
		id := subscribe(t, db, clk, from)
		inboxNames(t, db, id)
		res := testkit.Text(t, db, clk, from, "Help", testkit.InboundOptions())
		if res.Keyword != "help" || res.Consent != "" || res.Event != "" || res.ReplyMessageID == 0 {
			t.Fatalf("HELP: %+v", res)
		}
		if out := testkit.Outbound(t, db, id); len(out) != 1 || out[0].Body != testkit.HelpText || out[0].StepID != "keyword:help" {
			t.Fatalf("HELP reply %+v", out)
		}
		if got := inboxNames(t, db, id); len(got) != 0 {
			t.Fatalf("HELP fed the engine %v", got)
		}

		clk.Add(time.Minute)
		testkit.Text(t, db, clk, from, "STOP", testkit.InboundOptions())
		clk.Add(time.Minute)
		res = testkit.Text(t, db, clk, from, "unstop", testkit.InboundOptions())
		if res.Keyword != "start" || res.Consent != smsflow.ConsentSubscribed || res.ReplyMessageID == 0 {
			t.Fatalf("UNSTOP: %+v", res)
		}
		cons := testkit.Consent(t, db, "+14155550102")
		if last := cons.Ledger[len(cons.Ledger)-1]; cons.Status != smsflow.ConsentSubscribed || last.Source != smsflow.SourceKeyword {
			t.Fatalf("after UNSTOP: %+v", cons)
		}
		if got := inboxNames(t, db, id); len(got) != 2 || got[0] != smsflow.EventUnsubscribed || got[1] != smsflow.EventSubscribed {
			t.Fatalf("inbox %v", got)
		}
		out := testkit.Outbound(t, db, id)
		if last := out[len(out)-1]; last.StepID != "keyword:start" || !strings.Contains(last.Body, "Msg & data rates may apply") {
			t.Fatalf("START confirmation %+v", last)
		}
	})
}

func TestInboundJoin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		// Single opt-in: JOIN subscribes at once.
		res := testkit.Text(t, db, clk, "+14155550103", "join", testkit.InboundOptions())
		if res.Keyword != "join" || res.Consent != smsflow.ConsentSubscribed || res.ReplyMessageID == 0 {
			t.Fatalf("JOIN: %+v", res)
		}
		if out := testkit.Outbound(t, db, res.ContactID); len(out) != 1 || out[0].StepID != "keyword:join" || strings.Contains(out[0].Body, "Reply Y") {
			t.Fatalf("JOIN confirmation %+v", out)
		}

		// Double opt-in: pending until Y/YES.
		opt := testkit.InboundOptions()
		opt.DoubleOptIn = true
		from := "+14155550104"
		res = testkit.Text(t, db, clk, from, "yes", opt)
		if res.Keyword != "" || res.Consent != "" || res.Event != smsflow.EventMessageReplied {
			t.Fatalf("YES before JOIN is an ordinary reply: %+v", res)
		}
		inboxNames(t, db, res.ContactID)
		clk.Add(time.Second)
		res = testkit.Text(t, db, clk, from, "JOIN", opt)
		if res.Keyword != "join" || res.Consent != smsflow.ConsentPending || res.ReplyMessageID == 0 {
			t.Fatalf("JOIN with double opt-in: %+v", res)
		}
		out := testkit.Outbound(t, db, res.ContactID)
		if len(out) != 1 || !strings.Contains(out[0].Body, "Reply Y") {
			t.Fatalf("pending prompt %+v", out)
		}
		if got := inboxNames(t, db, res.ContactID); len(got) != 0 {
			t.Fatalf("pending is no Subscribed event, inbox %v", got)
		}
		clk.Add(time.Second)
		res = testkit.Text(t, db, clk, from, "Y", opt)
		if res.Keyword != "confirm" || res.Consent != smsflow.ConsentSubscribed || res.Event != "" || res.ReplyMessageID == 0 {
			t.Fatalf("Y while pending: %+v", res)
		}
		if got := inboxNames(t, db, res.ContactID); len(got) != 1 || got[0] != smsflow.EventSubscribed {
			t.Fatalf("inbox after Y %v", got)
		}
		clk.Add(time.Second)
		res = testkit.Text(t, db, clk, from, "YES", opt)
		if res.Keyword != "" || res.Event != smsflow.EventMessageReplied || res.ReplyMessageID != 0 {
			t.Fatalf("YES once subscribed is an ordinary reply: %+v", res)
		}
		if st := testkit.Consent(t, db, from).Status; st != smsflow.ConsentSubscribed {
			t.Fatalf("consent %s", st)
		}
	})
}

func TestInboundAutoReplyRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		from := "+14155550105"
		var id string
		for i := range policy.AutoRepliesPerHour + 2 {
			res := testkit.Text(t, db, clk, from, "HELP", testkit.InboundOptions())
			id = res.ContactID
			if i < policy.AutoRepliesPerHour && res.ReplyMessageID == 0 {
				t.Fatalf("HELP %d not answered: %+v", i+1, res)
			}
			if i >= policy.AutoRepliesPerHour && (res.ReplyMessageID != 0 || res.ReplySkipped != policy.ReplySkippedRateLimited) {
				t.Fatalf("HELP %d answered past the limit: %+v", i+1, res)
			}
			clk.Add(time.Minute)
		}
		// The opt-out confirmation is not held back by the hourly limit.
		if res := testkit.Text(t, db, clk, from, "STOP", testkit.InboundOptions()); res.ReplyMessageID == 0 {
			t.Fatalf("STOP confirmation withheld: %+v", res)
		}
		if n := len(testkit.Outbound(t, db, id)); n != policy.AutoRepliesPerHour+1 {
			t.Fatalf("%d outbound, want %d", n, policy.AutoRepliesPerHour+1)
		}
		clk.Add(time.Hour)
		if res := testkit.Text(t, db, clk, from, "info", testkit.InboundOptions()); res.ReplyMessageID == 0 {
			t.Fatalf("HELP an hour later: %+v", res)
		}
	})
}

func TestInboundProviderAnswersKeywords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		opt := testkit.InboundOptions()
		opt.Provider, opt.SendConfirmations = "twilio", false
		res := testkit.Text(t, db, clk, "+14155550106", "STOP", opt)
		if res.Consent != smsflow.ConsentUnsubscribed || res.ReplyMessageID != 0 || res.ReplySkipped != policy.ReplySkippedProvider {
			t.Fatalf("STOP with Twilio replying: %+v", res)
		}
		// Twilio knows nothing of a revocation in words: smsflow confirms it.
		res = testkit.Text(t, db, clk, "+14155550107", "please stop texting me", opt)
		if res.Consent != smsflow.ConsentUnsubscribed || res.ReplyMessageID == 0 {
			t.Fatalf("revocation with Twilio replying: %+v", res)
		}
		// Nor of a keyword in full-width letters or with accents.
		for i, body := range []string{"ＳＴＯＰ", "Wrong number. STOP"} {
			res = testkit.Text(t, db, clk, fmt.Sprintf("+1415555012%d", i), body, opt)
			if res.Consent != smsflow.ConsentUnsubscribed || res.ReplyMessageID == 0 {
				t.Fatalf("%q with Twilio replying: %+v", body, res)
			}
		}
	})
}

func TestInboundRefusedResubscribe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		from := "+14155550108"
		clk.Add(time.Second)
		testkit.Text(t, db, clk, from, "STOP", testkit.InboundOptions())
		// A START received (by this node's clock) before the STOP was
		// recorded (by another node's, running ahead) is not newer than
		// it: the ledger refuses, the text is still stored, nothing is
		// confirmed.
		clk.Add(-time.Second)
		res := testkit.Text(t, db, clk, from, "START", testkit.InboundOptions())
		if res.Consent != "" || res.ConsentRefused == "" || res.ReplyMessageID != 0 || res.MessageID == 0 {
			t.Fatalf("refused START: %+v", res)
		}
		if st := testkit.Consent(t, db, from).Status; st != smsflow.ConsentUnsubscribed {
			t.Fatalf("consent %s", st)
		}
		// A START in the same instant as the STOP but recorded after it is
		// the later text: the ledger's order is the order of recording.
		clk.Add(time.Second)
		if res := testkit.Text(t, db, clk, from, "START", testkit.InboundOptions()); res.Consent != smsflow.ConsentSubscribed {
			t.Fatalf("START after STOP: %+v", res)
		}
	})
}

func TestInboundOptionsFromConfig(t *testing.T) {
	cfg := config.Default()
	if opt := ingest.InboundOptionsFromConfig(cfg, "console"); !opt.SendConfirmations || opt.Region != "US" || len(opt.Keywords.Join) != 1 {
		t.Errorf("console: %+v", opt)
	}
	if opt := ingest.InboundOptionsFromConfig(cfg, "twilio"); opt.SendConfirmations {
		t.Errorf("twilio with opt_out_replies: twilio must leave STOP replies to Twilio")
	}
	cfg.Twilio.OptOutReplies = "smsflow"
	if opt := ingest.InboundOptionsFromConfig(cfg, "twilio"); !opt.SendConfirmations {
		t.Errorf("twilio with opt_out_replies: smsflow must send them")
	}
}
