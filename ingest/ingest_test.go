package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

var ctx = context.Background()

// now is when the fixtures happen (testkit.Now).
var now = testkit.Now

func TestIdentifyCreatesContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		res := testkit.Submit(t, w, testkit.Identify("ana", "", testkit.Number(t, "(208) 555-0100"), map[string]any{"first_name": "Ana"}))
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		c, err := db.Contact(ctx, "ana")
		if err != nil {
			t.Fatal(err)
		}
		if c.Phone != "+12085550100" || c.Traits["first_name"] != "Ana" {
			t.Errorf("contact %+v", c)
		}
		if len(c.Timezones) != 2 || c.Timezone != c.Timezones[0] || c.TimezoneSource != "number" {
			t.Errorf("208 area code: timezone %q (%s) of %v, want the first of two candidates", c.Timezone, c.TimezoneSource, c.Timezones)
		}
		// An explicit zone wins; context never overrides a trait.
		it := testkit.Identify("ana", "", nil, map[string]any{"timezone": "America/Boise"})
		it.Timezone, it.TimezoneSource = "America/Boise", "trait"
		testkit.Submit(t, w, it)
		it2 := testkit.Track("ana", "", "Page Viewed", nil)
		it2.Timezone, it2.TimezoneSource = "Europe/Paris", "context"
		testkit.Submit(t, w, it2)
		c, _ = db.Contact(ctx, "ana")
		if c.Timezone != "America/Boise" || c.TimezoneSource != "trait" {
			t.Errorf("timezone %q from %s, want America/Boise from trait", c.Timezone, c.TimezoneSource)
		}
	})
}

func TestDuplicatesStoredOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		a := testkit.Track("ana", "", "Product Viewed", nil)
		b := *a
		o1 := testkit.Track("ana", "", "Order Completed", map[string]any{"order_id": "1001", "revenue": 42.5})
		o2 := testkit.Track("ana", "", "Order Completed", map[string]any{"order_id": "1001"}) // same order from Shopify
		o3 := testkit.Track("ana", "", "Order Completed", map[string]any{"order_id": 1002.0})
		res := testkit.Submit(t, w, a, &b, o1, o2, o3)
		wantDup := []bool{false, true, false, true, false}
		for i, r := range res {
			if r.Err != nil || r.Duplicate != wantDup[i] {
				t.Errorf("item %d: dup=%v err=%v, want dup=%v", i, r.Duplicate, r.Err, wantDup[i])
			}
		}
		// And again in a later call.
		res = testkit.Submit(t, w, a)
		if !res[0].Duplicate {
			t.Error("messageId resent later was stored again")
		}
		if n, _ := db.CountEvents(ctx); n != 3 {
			t.Errorf("%d events, want 3", n)
		}
	})
}

func TestAnonymousHistoryMergedOnIdentify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Track("", "anon-1", "Product Viewed", nil), testkit.Track("", "anon-1", "Product Added", nil))
		if _, err := db.Contact(ctx, "anon:anon-1"); err != nil {
			t.Fatalf("anonymous placeholder: %v", err)
		}
		testkit.Submit(t, w, testkit.Identify("ana", "anon-1", testkit.Number(t, "+1 415 555 0100"), map[string]any{"email": "ana@example.com"}))
		evs, _ := db.EventsByContact(ctx, "ana", 100)
		if len(evs) != 3 {
			t.Errorf("ana has %d events, want 3 (two anonymous + identify)", len(evs))
		}
		// The placeholder id now resolves to ana; later anonymous events land on ana.
		c, err := db.Contact(ctx, "anon:anon-1")
		if err != nil || c.ID != "ana" {
			t.Errorf("placeholder resolves to %v, %v", c, err)
		}
		testkit.Submit(t, w, testkit.Track("", "anon-1", "Cart Viewed", nil))
		evs, _ = db.EventsByContact(ctx, "ana", 100)
		if len(evs) != 4 {
			t.Errorf("after identify, anonymous event not attributed to ana (%d events)", len(evs))
		}
		if n, _ := db.CountContacts(ctx); n != 1 {
			t.Errorf("%d contacts, want 1", n)
		}
	})
}

func TestAliasMergesPreviousID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Track("", "visitor-9", "Product Viewed", nil))
		al := testkit.Track("ana", "", "", nil)
		al.Type, al.PreviousID = smsflow.EventAlias, "visitor-9"
		if r := testkit.Submit(t, w, al); r[0].Err != nil {
			t.Fatal(r[0].Err)
		}
		evs, _ := db.EventsByContact(ctx, "ana", 10)
		if len(evs) != 2 {
			t.Errorf("ana has %d events after alias, want 2", len(evs))
		}
	})
}

func TestOnePhoneOneContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("ana", "", testkit.Number(t, "415-555-0100"), nil))
		res := testkit.Submit(t, w, testkit.Identify("bob", "", testkit.Number(t, "+14155550100"), map[string]any{"first_name": "Bob"}))
		if smsflow.ErrorCode(res[0].Err) != smsflow.ECONFLICT || smsflow.ErrorField(res[0].Err) != "traits.phone" {
			t.Fatalf("second contact with ana's phone: %v", res[0].Err)
		}
		if _, err := db.Contact(ctx, "bob"); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
			t.Errorf("refused identify stored contact bob (%v)", err)
		}
		if n, _ := db.CountEvents(ctx); n != 1 {
			t.Errorf("refused identify stored its event (%d events)", n)
		}
	})
}

func TestPhonePlaceholderMergedIntoUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		n := testkit.Number(t, "415 555 0199")
		testkit.Submit(t, w, testkit.Identify(smsflow.ContactIDForPhone(n.E164), "", n, map[string]any{"source": "inbound"}))
		testkit.Submit(t, w, testkit.Identify("carla", "", n, map[string]any{"first_name": "Carla"}))
		c, err := db.ContactByPhone(ctx, n.E164)
		if err != nil || c.ID != "carla" || c.Traits["source"] != "inbound" || c.Traits["first_name"] != "Carla" {
			t.Errorf("after identify, number belongs to %+v (%v), want carla with both traits", c, err)
		}
	})
}

func TestRecordConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("ana", "", testkit.Number(t, "4155550100"), nil), testkit.Identify("nophone", "", nil, nil))
		clk := testkit.NewClock(now)
		if _, err := ingest.RecordConsent(ctx, db, clk, "nophone", ingest.ConsentChange{Status: "subscribed", Source: "api"}, ingest.OptInOptions{}); smsflow.ErrorCode(err) != smsflow.ECONFLICT {
			t.Errorf("consent without phone: %v, want conflict", err)
		}
		if _, err := ingest.RecordConsent(ctx, db, clk, "ghost", ingest.ConsentChange{Status: "subscribed", Source: "api"}, ingest.OptInOptions{}); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
			t.Errorf("consent for unknown contact: %v", err)
		}
		if _, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: "yes", Source: "api"}, ingest.OptInOptions{}); smsflow.ErrorField(err) != "status" {
			t.Errorf("bad status: %v", err)
		}
		if _, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: "subscribed", Source: "fax"}, ingest.OptInOptions{}); smsflow.ErrorField(err) != "source" {
			t.Errorf("bad source: %v", err)
		}
		e, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: "unsubscribed", Source: "carrier", Timestamp: now.Add(-time.Hour)}, ingest.OptInOptions{})
		if err != nil || e.Entry.Phone != "+14155550100" {
			t.Fatalf("opt-out: %v %v", e, err)
		}
		if _, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: "subscribed", Source: "api"}, ingest.OptInOptions{}); smsflow.ErrorCode(err) != smsflow.ECONFLICT {
			t.Errorf("API resubscribe without evidence after carrier opt-out: %v, want conflict", err)
		}
		c, _ := db.ConsentLedger(ctx, "+14155550100")
		if c.Status != smsflow.ConsentUnsubscribed || len(c.Ledger) != 1 {
			t.Errorf("ledger %+v", c)
		}
	})
}

func TestImportContacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		// A number that said STOP before the import.
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("dan", "", testkit.Number(t, "+1 212 555 0142"), nil))
		if _, err := ingest.RecordConsent(ctx, db, clk, "dan", ingest.ConsentChange{Status: "unsubscribed", Source: "keyword", Evidence: map[string]any{"text": "STOP"}, Timestamp: now.Add(-time.Hour)}, ingest.OptInOptions{}); err != nil {
			t.Fatal(err)
		}
		csv := "phone,id,first_name,consent,consent_source,evidence_url,timezone\n" +
			"(415) 555-0100,ana,Ana,subscribed,checkout,https://glow.example/checkout,\n" +
			"+44 20 7946 0958,,Bea,subscribed,,,Europe/London\n" +
			"not a phone,x,X,subscribed,,,\n" +
			"212-555-0142,dan,Dan,subscribed,,,\n" +
			"415 555 0101,eve,Eve,maybe,,,\n" +
			"415 555 0102,fay,Fay,,,,Mars/Olympus\n"
		im := &ingest.Importer{DB: db, Clock: clk, Region: "US"}
		sum, err := im.Import(ctx, strings.NewReader(csv), "csv")
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != 6 || sum.Imported != 2 || sum.Updated != 1 || len(sum.Rejected) != 3 || len(sum.ConsentRefused) != 1 {
			t.Fatalf("summary %+v", sum)
		}
		for i, line := range []int{4, 6, 7} {
			if sum.Rejected[i].Line != line {
				t.Errorf("rejection %d on line %d, want %d (%s)", i, sum.Rejected[i].Line, line, sum.Rejected[i].Reason)
			}
		}
		if sum.ConsentRefused[0].Line != 5 {
			t.Errorf("consent refused on line %d, want 5", sum.ConsentRefused[0].Line)
		}
		c, _ := db.ConsentLedger(ctx, "+12125550142")
		if c.Status != smsflow.ConsentUnsubscribed {
			t.Errorf("import resubscribed an opted-out number: %s", c.Status)
		}
		bea, err := db.ContactByPhone(ctx, "+442079460958")
		if err != nil || bea.ID != "phone:+442079460958" || bea.Timezone != "Europe/London" {
			t.Errorf("row without id: %+v %v", bea, err)
		}
		ana, _ := db.ConsentLedger(ctx, "+14155550100")
		if ana.Status != smsflow.ConsentSubscribed || ana.Ledger[0].Source != smsflow.SourceCheckout || ana.Ledger[0].Evidence["url"] != "https://glow.example/checkout" {
			t.Errorf("ana consent %+v", ana)
		}
		// Running the same import again changes nothing.
		sum2, err := im.Import(ctx, strings.NewReader(csv), "csv")
		if err != nil {
			t.Fatal(err)
		}
		if sum2.Imported != 0 || sum2.Unchanged != 3 {
			t.Errorf("re-import %+v", sum2)
		}
		ana, _ = db.ConsentLedger(ctx, "+14155550100")
		if len(ana.Ledger) != 1 {
			t.Errorf("re-import appended consent again: %d entries", len(ana.Ledger))
		}

		nd := `{"id":"gus","phone":"+1 650 555 0100","traits":{"plan":"vip"},"consent":{"status":"subscribed","source":"web_form","evidence":{"ip":"203.0.113.7"}}}
{"phone":"650 555 0101","consent":"unsubscribed"}
{"phone": 5}
`
		sum3, err := im.Import(ctx, strings.NewReader(nd), "ndjson")
		if err != nil {
			t.Fatal(err)
		}
		if sum3.Imported != 2 || len(sum3.Rejected) != 1 || sum3.Rejected[0].Line != 3 {
			t.Errorf("ndjson summary %+v", sum3)
		}
	})
}

// Two nodes (two database handles, two writers) taking the same events at
// the same time store each once and report each as new on exactly one node:
// a group whose read-ahead said "new", or that created a contact, but lost
// the race to the other node fails at its write and is written again (D36).
func TestSameEventsOnTwoNodesStoredOnce(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	nodes := []*ingest.Writer{testkit.NewWriter(t, storetest.OpenMigrated(t, dsn)), testkit.NewWriter(t, storetest.OpenMigrated(t, dsn))}
	const rounds, per = 20, 50
	var items [][]*ingest.Item
	for r := range rounds {
		var round []*ingest.Item
		for i := range per {
			props := map[string]any{}
			if i%10 == 0 {
				props["order_id"] = fmt.Sprintf("o-%d-%d", r, i)
			}
			round = append(round, testkit.Track(fmt.Sprintf("u%d", i%7), "", "Order Completed", props))
		}
		items = append(items, round)
	}
	fresh := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, w := range nodes {
		for _, round := range items {
			wg.Go(func() {
				// Each request is one item, so requests group differently on
				// the two nodes.
				for _, it := range round {
					copy := *it
					res, err := w.Submit(ctx, []*ingest.Item{&copy})
					if err != nil || res[0].Err != nil {
						t.Errorf("submit %s: %v %v", it.MessageID, err, res)
						return
					}
					if !res[0].Duplicate {
						mu.Lock()
						fresh[it.MessageID]++
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	for _, round := range items {
		for _, it := range round {
			if fresh[it.MessageID] != 1 {
				t.Errorf("event %s reported new on %d nodes, want 1", it.MessageID, fresh[it.MessageID])
			}
		}
	}
	db := storetest.OpenMigrated(t, dsn)
	if n, err := db.CountEvents(ctx); err != nil || n != rounds*per {
		t.Errorf("%d events stored (%v), want %d", n, err, rounds*per)
	}
}
