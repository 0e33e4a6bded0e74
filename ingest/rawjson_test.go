package ingest_test

import (
	"reflect"
	"testing"

	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/ingest/segment"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// A Segment call's properties, traits and context are stored as the text
// received when validation changed nothing in them (no second encoding),
// and encoded from the cleaned maps otherwise: whichever is stored, the
// event reads back as the cleaned values. Text with invalid UTF-8 — a
// duplicate key's overwritten value keeps it out of the map, not out of
// the text — is never stored as sent (PostgreSQL refuses it).
func TestReceivedJSONStoredWhenClean(t *testing.T) {
	cases := []struct {
		name, props string
		asSent      bool
		want        map[string]any
	}{
		{"clean", `{ "b": 1.50, "a": "caf\u00e9",  "n": {"x": [1, "y"]} }`, true, map[string]any{"a": "café", "b": 1.5, "n": map[string]any{"x": []any{1.0, "y"}}}},
		{"a control character", `{"a": "x\u0001y"}`, false, map[string]any{"a": "xy"}},
		{"a dirty key", `{"k\u0000": 1}`, false, map[string]any{"k": 1.0}},
		{"invalid UTF-8 under a duplicate key", "{\"a\": \"\xff\", \"a\": \"ok\"}", false, map[string]any{"a": "ok"}},
		{"a number out of range under a duplicate key", `{"n": 1e400, "n": 1}`, false, map[string]any{"n": 1.0}},
		{"a duplicate key deeper down", `{"o": {"a": "x\u0001", "a": "y"}, "l": [{"k": 1, "k": 2}]}`, false, map[string]any{"o": map[string]any{"a": "y"}, "l": []any{map[string]any{"k": 2.0}}}},
		{"the same key spelled twice", `{"a": 1, "\u0061": 2}`, false, map[string]any{"a": 2.0}},
		{"replaced after parsing", `{"a": 1}`, false, map[string]any{"z": "new"}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		for i, c := range cases {
			body := `{"userId": "ana", "event": "Viewed", "messageId": "raw-` + string(rune('a'+i)) + `", "properties": ` + c.props + `}`
			m, err := segment.ParseOne("track", []byte(body), now)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			it, err := ingest.FromSegment(m, "US")
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if c.name == "replaced after parsing" {
				it.Properties = map[string]any{"z": "new"}
			}
			if res := testkit.Submit(t, w, it); res[0].Err != nil {
				t.Fatalf("%s: %v", c.name, res[0].Err)
			}
			var stored string
			if err := db.QueryRowForTest(ctx, `SELECT properties FROM events WHERE message_id = ?`, it.MessageID).Scan(&stored); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := stored == c.props; got != c.asSent {
				t.Errorf("%s: stored %q; as sent: %v, want %v", c.name, stored, got, c.asSent)
			}
		}
		events, err := db.EventsByContact(ctx, "ana", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != len(cases) {
			t.Fatalf("%d events stored, want %d", len(events), len(cases))
		}
		for _, e := range events {
			i := int(e.MessageID[len("raw-")] - 'a')
			if !reflect.DeepEqual(e.Properties, cases[i].want) {
				t.Errorf("%s: read back %#v, want %#v", cases[i].name, e.Properties, cases[i].want)
			}
		}
	})
}
