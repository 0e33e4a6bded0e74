package ingest_test

import (
	"slices"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// public marks items as sent with the write key.
func public(items ...*ingest.Item) []*ingest.Item {
	for _, it := range items {
		it.Trust = smsflow.TrustPublic
	}
	return items
}

func contact(t *testing.T, db *store.DB, id string) *smsflow.Contact {
	t.Helper()
	c, err := db.Contact(ctx, id)
	if err != nil {
		t.Fatalf("contact %s: %v", id, err)
	}
	return c
}

func TestWriteKeyCannotRePointOrMergeContacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("ana", "", testkit.Number(t, "+1 415 555 0100"), nil))                // server key
		testkit.Submit(t, w, public(testkit.Identify("carla", "", nil, map[string]any{"plan": "gold"}))...)         // no phone yet
		testkit.Submit(t, w, testkit.Track("", "v-phone", "Product Viewed", nil))                                   // anonymous…
		testkit.Submit(t, w, public(testkit.Identify("", "v-phone", testkit.Number(t, "+1 415 555 0177"), nil))...) // …with a phone
		if c := contact(t, db, "anon:v-phone"); c.Phone != "+14155550177" || c.PhoneVerified || !c.PhonePublic {
			t.Fatalf("an anonymous visitor's first phone from the write key: %+v (want set, unverified)", c)
		}
		events, _ := db.CountEvents(ctx)

		for _, tt := range []struct {
			what string
			item *ingest.Item
		}{
			{"change a verified contact's phone", testkit.Identify("ana", "", testkit.Number(t, "+1 415 555 0199"), nil)},
			{"give an existing identified contact its first phone", testkit.Identify("carla", "", testkit.Number(t, "+1 415 555 0198"), nil)},
			{"take a number another contact holds", testkit.Identify("mallory", "", testkit.Number(t, "+1 415 555 0100"), nil)},
			{"take it through context.traits of a track call", func() *ingest.Item {
				it := testkit.Track("mallory", "", "Page Viewed", nil)
				it.Phone = testkit.Number(t, "(415) 555-0100")
				return it
			}()},
			{"merge a contact with a phone", testkit.Identify("mallory", "v-phone", nil, nil)},
			{"alias an identified contact away", func() *ingest.Item {
				it := testkit.Track("mallory", "", "", nil)
				it.Type, it.PreviousID = smsflow.EventAlias, "ana"
				return it
			}()},
			{"alias an identified contact into itself", func() *ingest.Item {
				it := testkit.Track("ana", "", "", nil)
				it.Type, it.PreviousID = smsflow.EventAlias, "carla"
				return it
			}()},
		} {
			res := testkit.Submit(t, w, public(tt.item)...)
			if res[0].Err != nil || res[0].Withheld == "" || res[0].ContactID != "" {
				t.Errorf("%s with the write key: %+v, want withheld (no error: the answer must not tell)", tt.what, res[0])
			}
		}
		if n, _ := db.CountEvents(ctx); n != events {
			t.Errorf("withheld items stored %d events", n-events)
		}
		if c := contact(t, db, "ana"); c.Phone != "+14155550100" || !c.PhoneVerified {
			t.Errorf("ana after the write key's attempts: %+v", c)
		}
		if c := contact(t, db, "carla"); c.Phone != "" {
			t.Errorf("carla got phone %s from the write key", c.Phone)
		}
		if _, err := db.Contact(ctx, "mallory"); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
			t.Errorf("mallory was created: %v", err)
		}

		// The server key may do all of it, with the detailed answers.
		res := testkit.Submit(t, w, testkit.Identify("mallory", "", testkit.Number(t, "+1 415 555 0100"), nil))
		if smsflow.ErrorCode(res[0].Err) != smsflow.ECONFLICT {
			t.Errorf("server key, a number ana holds: %v, want the conflict", res[0].Err)
		}
		testkit.Submit(t, w, testkit.Identify("ana", "", testkit.Number(t, "+1 415 555 0199"), nil), testkit.Identify("carla", "", testkit.Number(t, "+1 415 555 0198"), nil))
		if c := contact(t, db, "ana"); c.Phone != "+14155550199" || !c.PhoneVerified {
			t.Errorf("ana after the server key's change: %+v", c)
		}
		if c := contact(t, db, "carla"); c.Phone != "+14155550198" || !c.PhoneVerified {
			t.Errorf("carla after the server key's change: %+v", c)
		}
	})
}

func TestWriteKeyStillMergesAnonymousBrowsing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		// analytics.js: browse anonymously, then identify with a phone…
		testkit.Submit(t, w, public(testkit.Track("", "v-1", "Product Viewed", nil), testkit.Track("", "v-1", "Product Added", nil))...)
		res := testkit.Submit(t, w, public(testkit.Identify("dana", "v-1", testkit.Number(t, "+1 415 555 0111"), map[string]any{"first_name": "Dana"}))...)
		if res[0].Err != nil || res[0].Withheld != "" {
			t.Fatalf("identify after browsing: %+v", res[0])
		}
		c := contact(t, db, "dana")
		if c.Phone != "+14155550111" || c.PhoneVerified || !slices.Equal(c.PublicTraits, []string{"first_name"}) {
			t.Errorf("dana: %+v (want the phone, unverified, first_name from the write key)", c)
		}
		if evs, _ := db.EventsByContact(ctx, "dana", 10); len(evs) != 3 || !evs[0].Trust.Public() {
			t.Errorf("dana's events: %+v", evs)
		}
		// …and alias after browsing on another device, into the known contact.
		testkit.Submit(t, w, public(testkit.Track("", "v-2", "Product Viewed", nil))...)
		al := testkit.Track("dana", "", "", nil)
		al.Type, al.PreviousID = smsflow.EventAlias, "v-2"
		if res := testkit.Submit(t, w, public(al)...); res[0].Err != nil || res[0].Withheld != "" {
			t.Fatalf("alias after browsing: %+v", res[0])
		}
		if evs, _ := db.EventsByContact(ctx, "dana", 10); len(evs) != 5 {
			t.Errorf("dana has %d events after the alias, want 5", len(evs))
		}
		// Sending the same phone again changes nothing; the server key
		// sending it verifies it and takes over the trait.
		testkit.Submit(t, w, public(testkit.Identify("dana", "", testkit.Number(t, "415-555-0111"), nil))...)
		testkit.Submit(t, w, testkit.Identify("dana", "", testkit.Number(t, "415-555-0111"), map[string]any{"first_name": "Dana"}))
		if c := contact(t, db, "dana"); !c.PhoneVerified || c.PhonePublic || len(c.PublicTraits) != 0 {
			t.Errorf("dana after the server key: %+v", c)
		}
	})
}

func TestWriteKeyCannotNameSmsflowsContacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		for _, id := range []string{"phone:+14155550100", "anon:v-1", "shopify:123"} {
			res := testkit.Submit(t, w, public(testkit.Track(id, "", "Shipment Updated", nil))...)
			if smsflow.ErrorCode(res[0].Err) != smsflow.EINVALID || smsflow.ErrorField(res[0].Err) != "userId" {
				t.Errorf("userId %q with the write key: %v, want invalid userId", id, res[0].Err)
			}
		}
		// The server key may address them, and cannot take the write key's
		// namespace of message ids.
		if res := testkit.Submit(t, w, testkit.Track("phone:+14155550100", "", "Shipment Updated", nil)); res[0].Err != nil {
			t.Errorf("server key, userId phone:…: %v", res[0].Err)
		}
		it := testkit.Track("ana", "", "Page Viewed", nil)
		it.MessageID = "public:abc"
		if res := testkit.Submit(t, w, it); smsflow.ErrorField(res[0].Err) != "messageId" {
			t.Errorf("server key, messageId public:…: %v", res[0].Err)
		}
	})
}

func TestWriteKeyCannotTakeTrustedKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		// The write key sends first what a trusted source will send later:
		// Shopify's message id for an order, its order_id, and the id of
		// smsflow's own next consent event.
		early := public(testkit.Track("ana", "", smsflow.EventOrderCompleted, map[string]any{"order_id": "1001"}),
			testkit.Track("ana", "", "Page Viewed", nil), testkit.Track("ana", "", "Page Viewed", nil))
		early[1].MessageID, early[2].MessageID = "shopify-order-1001", "consent-1"
		testkit.Submit(t, w, early...)
		later := []*ingest.Item{testkit.Track("ana", "", smsflow.EventOrderCompleted, map[string]any{"order_id": "1001"}), testkit.Track("ana", "", "Page Viewed", nil)}
		later[1].MessageID = "shopify-order-1001"
		for i, r := range testkit.Submit(t, w, later...) {
			if r.Err != nil || r.Duplicate {
				t.Errorf("trusted item %d after the write key's copy: %+v, want stored", i, r)
			}
		}
		// Among themselves, public events dedupe as before.
		again := public(testkit.Track("ana", "", smsflow.EventOrderCompleted, map[string]any{"order_id": "1001"}))
		again[0].MessageID = "shopify-order-1001"
		if r := testkit.Submit(t, w, again...); !r[0].Duplicate {
			t.Errorf("the write key's repeat: %+v, want duplicate", r[0])
		}
		evs, _ := db.EventsByContact(ctx, "ana", 10)
		var got []string
		for _, e := range evs {
			got = append(got, e.Trust.Stored()+":"+e.MessageID)
		}
		want := []string{"public:" + early[0].MessageID, "public:shopify-order-1001", "public:consent-1", "trusted:" + later[0].MessageID, "trusted:shopify-order-1001"}
		if !slices.Equal(got, want) {
			t.Errorf("events %v, want %v (message ids as sent)", got, want)
		}
	})
}

func TestInboundTextVerifiesTheNumber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, public(testkit.Identify("erin", "", testkit.Number(t, "+1 415 555 0122"), nil))...)
		if contact(t, db, "erin").PhoneVerified {
			t.Fatal("a phone from the write key is verified")
		}
		if _, err := ingest.Inbound(ctx, db, testkit.NewClock(now), "+14155550122", "hello", ingest.InboundOptions{Region: "US", Provider: "console"}); err != nil {
			t.Fatal(err)
		}
		if !contact(t, db, "erin").PhoneVerified {
			t.Error("a number that texted in is not verified")
		}
		if _, err := ingest.Inbound(ctx, db, testkit.NewClock(now), "+14155550123", "hello", ingest.InboundOptions{Region: "US", Provider: "console"}); err != nil {
			t.Fatal(err)
		}
		if !contact(t, db, "phone:+14155550123").PhoneVerified {
			t.Error("the contact an inbound text made is not verified")
		}
	})
}

func TestServerKeyTakesBackANumberTheWriteKeyClaimed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		// Numbers claimed in bulk through the public key…
		testkit.Submit(t, w, public(testkit.Identify("squatter", "", testkit.Number(t, "+1 415 555 0144"), nil))...)
		// …do not lock the back end out: its claim wins.
		if res := testkit.Submit(t, w, testkit.Identify("fay", "", testkit.Number(t, "+1 415 555 0144"), nil)); res[0].Err != nil {
			t.Fatalf("server key, a number only the write key gave: %v", res[0].Err)
		}
		if c := contact(t, db, "fay"); c.Phone != "+14155550144" || !c.PhoneVerified {
			t.Errorf("fay: %+v", c)
		}
		if c := contact(t, db, "squatter"); c.Phone != "" || c.PhoneVerified || c.PhonePublic || len(c.Timezones) != 0 {
			t.Errorf("the squatter kept the number: %+v", c)
		}
		// A number stored before smsflow knew who set it is not taken over.
		legacy := &smsflow.Contact{ID: "old", Phone: "+14155550145", Traits: map[string]any{}, CreatedAt: now, UpdatedAt: now}
		if err := db.WriteTx(ctx, func(tx *store.Tx) error { return tx.InsertContact(legacy) }); err != nil {
			t.Fatal(err)
		}
		if res := testkit.Submit(t, w, testkit.Identify("hal", "", testkit.Number(t, "+1 415 555 0145"), nil)); smsflow.ErrorCode(res[0].Err) != smsflow.ECONFLICT {
			t.Errorf("server key, a number stored before trust was recorded: %v, want conflict", res[0].Err)
		}
		// A verified number stays its owner's: the conflict as before.
		if res := testkit.Submit(t, w, testkit.Identify("gus", "", testkit.Number(t, "+1 415 555 0144"), nil)); smsflow.ErrorCode(res[0].Err) != smsflow.ECONFLICT {
			t.Errorf("server key, a verified number of another contact: %v, want conflict", res[0].Err)
		}
	})
}
