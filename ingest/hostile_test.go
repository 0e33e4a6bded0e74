package ingest_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// Issue 16 item 7, below the HTTP API: whatever the source of an item, one
// that PostgreSQL could not store is refused alone, naming the field, and
// the other items of the same Submit are stored — the same on both
// databases.
func TestWriterRefusesUnstorableItemsAlone(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 600) // incompressible enough for an index row
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		bad := []struct {
			it    *ingest.Item
			field string
		}{
			{testkit.Track("ana\x00", "", "E", nil), "userId"},
			{testkit.Track("", "anon\x00", "E", nil), "anonymousId"},
			{testkit.Track("u1", "", "Order\x00Completed", nil), "event"},
			{testkit.Track("u1", "", smsflow.EventOrderCompleted, map[string]any{"order_id": "o\x00"}), "properties.order_id"},
			{testkit.Track("u1", "", smsflow.EventOrderCompleted, map[string]any{"order_id": long}), "properties.order_id"},
			{testkit.Identify(long, "", nil, nil), "userId"},
		}
		bad[0].it.MessageID = "m\x00"
		bad[0].field = "messageId"
		page := testkit.Track("u1", "", "Home\x00", nil)
		page.Type = smsflow.EventPage
		bad = append(bad, struct {
			it    *ingest.Item
			field string
		}{page, "name"})

		var items []*ingest.Item
		for i, b := range bad {
			items = append(items, testkit.Identify("good-"+string(rune('a'+i)), "", nil, map[string]any{"i": i}), b.it)
		}
		res := testkit.Submit(t, w, items...)
		for i, b := range bad {
			if err := res[2*i].Err; err != nil {
				t.Errorf("good item %d refused: %v", i, err)
			}
			err := res[2*i+1].Err
			if smsflow.ErrorCode(err) != smsflow.EINVALID || smsflow.ErrorField(err) != b.field {
				t.Errorf("bad item %d: %v, want invalid naming %s", i, err, b.field)
			}
		}
		for i := range bad {
			if c, err := db.Contact(ctx, "good-"+string(rune('a'+i))); err != nil || c == nil {
				t.Errorf("good item %d not stored: %v", i, err)
			}
		}

		// Free text is cleaned, not refused, and keeps its meaning.
		res = testkit.Submit(t, w, testkit.Identify("clean", "", nil, map[string]any{"first\x00name": "A\x00na", "note": "a\tb\r\nc", "nested": []any{"x\x1b"}}))
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		c, err := db.Contact(ctx, "clean")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(c.Traits); string(got) != `{"firstname":"Ana","nested":["x"],"note":"a\tb\nc"}` {
			t.Errorf("traits stored as %s", got)
		}
	})
}

// An unchanged numeric trait (json.Number from the parser, float64 from the
// store) does not rewrite the contact.
func TestIdentifyWithSameNumberChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		w := ingest.NewWriter(db, clk, nil)
		w.Start()
		t.Cleanup(w.Stop)
		testkit.Submit(t, w, testkit.Identify("ana", "", nil, map[string]any{"visits": json.Number("3"), "big": json.Number("12345678901234567890")}))
		clk.Add(time.Hour)
		testkit.Submit(t, w, testkit.Identify("ana", "", nil, map[string]any{"visits": json.Number("3")}))
		c, err := db.Contact(ctx, "ana")
		if err != nil {
			t.Fatal(err)
		}
		if !c.UpdatedAt.Equal(now) {
			t.Errorf("an identify with the same visits rewrote the contact (updated_at %v)", c.UpdatedAt)
		}
		clk.Add(time.Hour)
		testkit.Submit(t, w, testkit.Identify("ana", "", nil, map[string]any{"visits": json.Number("4")}))
		if c, _ = db.Contact(ctx, "ana"); c.Traits["visits"] != float64(4) {
			t.Errorf("visits = %#v after a change, want 4", c.Traits["visits"])
		}
	})
}

// Issue 16 item 9: two orders whose numeric ids differ beyond 2^53 are two
// orders, stored with every digit.
func TestOrderIDsAbove2To53AreDistinct(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		res := testkit.Submit(t, w,
			testkit.Track("ana", "", smsflow.EventOrderCompleted, map[string]any{"order_id": json.Number("12345678901234567890")}),
			testkit.Track("ana", "", smsflow.EventOrderCompleted, map[string]any{"order_id": json.Number("12345678901234567891")}),
			testkit.Track("ana", "", smsflow.EventOrderCompleted, map[string]any{"order_id": "12345678901234567891"}))
		if res[0].Duplicate || res[1].Duplicate || !res[2].Duplicate {
			t.Errorf("results %+v: want two orders, and the third (the second's id as a string) a duplicate", res)
		}
		var n int
		if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM events WHERE CAST(properties AS TEXT) LIKE '%12345678901234567891%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d stored events spell 12345678901234567891, want 1", n)
		}
	})
}

// Issue 16 item 3: STOP followed by a NUL (or a stray byte, or a CR)
// unsubscribes on both databases; the stored body is clean.
func TestInboundStopWithControlCharacters(t *testing.T) {
	for _, body := range []string{"STOP\x00", "\x00STOP", "STOP\xff", "STOP\r\n", "S\x00TOP"} {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			clk := testkit.NewClock(now)
			id := subscribe(t, db, clk, "+14155550100")
			res := testkit.Text(t, db, clk, "+14155550100", body, testkit.InboundOptions())
			if res.Keyword != "stop" || res.Consent != smsflow.ConsentUnsubscribed {
				t.Errorf("%q: keyword %q, consent %q; want stop, unsubscribed", body, res.Keyword, res.Consent)
			}
			msgs, err := db.Messages(ctx, store.MessageFilter{ContactID: id})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.ID == res.MessageID && strings.ContainsAny(m.Body, "\x00\r") {
					t.Errorf("%q stored as %q", body, m.Body)
				}
			}
		})
	}
}

// Automatic replies are cleaned like every outbound body (the help text
// comes from configuration).
func TestKeywordReplyIsClean(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		opt := testkit.InboundOptions()
		opt.HelpText = "Glow:\x00 help at glow.example\r\nReply STOP to opt out."
		res := testkit.Text(t, db, clk, "+14155550100", "HELP", opt)
		out := testkit.Outbound(t, db, res.ContactID)
		if len(out) != 1 || out[0].Body != "Glow: help at glow.example\nReply STOP to opt out." {
			t.Errorf("help reply %+v", out)
		}
	})
}

// Consent changes: a message_id that is no id is refused; evidence is
// cleaned. Imports: a row whose id is no id is rejected alone.
func TestConsentAndImportHostileValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("ana", "", testkit.Number(t, "+14155550100"), nil))
		_, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: "subscribed", Source: "api", MessageID: "m\x00"}, ingest.OptInOptions{})
		if smsflow.ErrorField(err) != "message_id" {
			t.Errorf("message_id with a NUL: %v", err)
		}
		e, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: "subscribed", Source: "web_form",
			Evidence: map[string]any{"url\x00": "https://glow.example/join\x00"}}, ingest.OptInOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c := testkit.Consent(t, db, "+14155550100"); c.Ledger[len(c.Ledger)-1].Evidence["url"] != "https://glow.example/join" || e == nil {
			t.Errorf("evidence stored as %v", c.Ledger)
		}

		nd := "{\"id\":\"bad\\u0000id\",\"phone\":\"+1 650 555 0100\"}\n" +
			"{\"id\":\"" + strings.Repeat("0123456789abcdef", 600) + "\",\"phone\":\"+1 650 555 0101\"}\n" +
			"{\"id\":\"gus\",\"phone\":\"+1 650 555 0102\",\"traits\":{\"plan\\u0000\":\"v\\u0000ip\"}}\n"
		im := &ingest.Importer{DB: db, Clock: clk, Region: "US"}
		sum, err := im.Import(ctx, strings.NewReader(nd), "ndjson")
		if err != nil {
			t.Fatal(err)
		}
		if sum.Imported != 1 || len(sum.Rejected) != 2 || sum.Rejected[0].Line != 1 || sum.Rejected[1].Line != 2 ||
			!strings.Contains(sum.Rejected[0].Reason, "U+0000") || !strings.Contains(sum.Rejected[1].Reason, "the limit is 255") {
			t.Fatalf("summary %+v", sum)
		}
		if c, err := db.Contact(ctx, "gus"); err != nil || c.Traits["plan"] != "vip" {
			t.Errorf("gus %+v %v", c, err)
		}
	})
}
