package segment

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Issue 16 item 7: ids that PostgreSQL cannot store (NUL, invalid UTF-8,
// longer than an index row) are refused here, naming the field, so both
// databases answer the same 400.
func TestParseOneRefusesUnstorableIDs(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name, kind, body, field, want string
	}{
		{"NUL in userId", "track", `{"userId":"ana\u0000","event":"E"}`, "userId", "contains the control character U+0000"},
		{"newline in userId", "identify", `{"userId":"ana\n"}`, "userId", "U+000A"},
		{"NUL in anonymousId", "track", `{"anonymousId":"a\u0000","event":"E"}`, "anonymousId", "U+0000"},
		{"NUL in previousId", "alias", `{"userId":"u1","previousId":"p\u0000"}`, "previousId", "U+0000"},
		{"NUL in groupId", "group", `{"userId":"u1","groupId":"g\u0000"}`, "groupId", "U+0000"},
		{"NUL in messageId", "track", `{"userId":"u1","event":"E","messageId":"m\u0000"}`, "messageId", "U+0000"},
		{"NUL in event", "track", `{"userId":"u1","event":"Order\u0000Completed"}`, "event", "U+0000"},
		{"C1 in event", "track", `{"userId":"u1","event":"E\u0085"}`, "event", "U+0085"},
		{"NUL in page name", "page", `{"userId":"u1","name":"Home\u0000"}`, "name", "U+0000"},
		{"screen name too long", "screen", `{"userId":"u1","name":"` + strings.Repeat("n", 201) + `"}`, "name", "201 characters long; the limit is 200"},
		{"userId too long", "identify", `{"userId":"` + long + `"}`, "userId", "256 characters long; the limit is 255"},
		{"numeric userId too long", "identify", `{"userId":` + strings.Repeat("9", 256) + `}`, "userId", "256 characters long"},
		{"anonymousId too long", "identify", `{"anonymousId":"` + long + `"}`, "anonymousId", "256 characters long"},
		{"NUL in order_id", "track", `{"userId":"u1","event":"Order Completed","properties":{"order_id":"o\u0000"}}`, "properties.order_id", "U+0000"},
		{"order_id too long", "track", `{"userId":"u1","event":"Order Completed","properties":{"order_id":"` + long + `"}}`, "properties.order_id", "256 characters long"},
		{"numeric order_id too long", "track", `{"userId":"u1","event":"Order Completed","properties":{"order_id":` + strings.Repeat("9", 256) + `}}`, "properties.order_id", "256 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseOne(tt.kind, []byte(tt.body), received)
			if err == nil {
				t.Fatalf("ParseOne = %+v, want an error", m)
			}
			checkErr(t, err, "invalid", tt.field, tt.want)
		})
	}
	// Free text is not refused here (ingest cleans it): a NUL in a
	// property, in the order_id of another event, or a long page title.
	for _, body := range []string{
		`{"userId":"u1","event":"E","properties":{"note":"a\u0000b","order_id":"o\u0000"}}`,
		`{"userId":"u1","event":"E","traits":{"k\u0000":"v"},"context":{"page":{"title":"` + strings.Repeat("t", 5000) + `"}}}`,
	} {
		if _, err := ParseOne("track", []byte(body), received); err != nil {
			t.Errorf("ParseOne(%.60s…) = %v, want success", body, err)
		}
	}
}

// Issue 16 item 9: numbers keep every digit, so two order ids above 2^53
// stay two orders.
func TestParseKeepsNumbersExact(t *testing.T) {
	body := `{"userId":"u1","event":"Order Completed","properties":{"order_id":12345678901234567891,"revenue":42.5,"n":[1e3]}}`
	m, err := ParseOne("track", []byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Properties["order_id"], any(json.Number("12345678901234567891")); got != want {
		t.Errorf("order_id = %#v, want %#v", got, want)
	}
	b, err := json.Marshal(m.Properties)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"n":[1e3],"order_id":12345678901234567891,"revenue":42.5}`; got != want {
		t.Errorf("properties marshal to %s, want %s (what was sent)", got, want)
	}
	m, err = ParseOne("identify", []byte(`{"userId":"u1","traits":{"phone":14155550100}}`), received)
	if err != nil || m.Phone != "14155550100" {
		t.Errorf("numeric phone: %q, %v; want its digits", m.Phone, err)
	}
	_, err = ParseOne("identify", []byte(`{"userId":"u1","traits":{"deep":{"list":[-1e400]}}}`), received)
	checkErr(t, err, "invalid", "traits", "the number -1e400 is out of range")
}

// Issue 16 item 10: the 1900–2099 rule holds for the timestamp that the
// sentAt correction produces, not only for each field.
func TestTimestampCorrectedOutOfRange(t *testing.T) {
	// received is 2024-05-01T10:00:02Z.
	for _, c := range []struct{ name, fields, lands string }{
		{"lands in 1826", `"originalTimestamp":"1900-01-02T00:00:00Z","sentAt":"2099-12-30T00:00:00Z"`, "1824-"},
		{"lands in 2226", `"originalTimestamp":"2099-12-30T00:00:00Z","sentAt":"1900-01-02T00:00:00Z"`, "2224-"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseOne("track", []byte(`{"userId":"u1","event":"E",`+c.fields+`}`), received)
			if err == nil {
				t.Fatalf("accepted with Timestamp %v", m.Timestamp)
			}
			checkErr(t, err, "invalid", "originalTimestamp", "years 1900 to 2099 are accepted")
			checkErr(t, err, "invalid", "originalTimestamp", "gives "+c.lands)
			checkErr(t, err, "invalid", "originalTimestamp", "corrected by sentAt")
		})
	}
	// The same fields through a batch's sentAt: the item alone is refused.
	body := `{"sentAt":"2099-12-30T00:00:00Z","batch":[
		{"type":"track","userId":"u1","event":"E","originalTimestamp":"1900-01-02T00:00:00Z"},
		{"type":"track","userId":"u1","event":"E","originalTimestamp":"2099-12-29T23:59:00Z"}]}`
	res, err := ParseBatch([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Index != 0 || res.Errors[0].Field != "originalTimestamp" || len(res.Messages) != 1 {
		t.Fatalf("ParseBatch = %+v, want item 0 refused and item 1 kept", res)
	}
	if got, want := res.Messages[0].Timestamp, mustTime(t, "2024-05-01T09:59:02Z"); !got.Equal(want) {
		t.Errorf("kept item's Timestamp = %v, want %v", got, want)
	}
}

// Issue 16 item 8: the batch context counts in each item's 32 KB, and a
// batch's items with the context merged in are bounded as a whole.
func TestParseBatchContextAmplification(t *testing.T) {
	// The report's batch: a 236 KB context and 8,000 tiny items, 511 KB.
	ctx := `{"blob":"` + strings.Repeat("c", 236<<10) + `"}`
	items := make([]string, 8000)
	for i := range items {
		items[i] = fmt.Sprintf(`{"type":"track","userId":"u%d","event":"E"}`, i%10)
	}
	res, err := ParseBatch([]byte(`{"context":`+ctx+`,"batch":[`+strings.Join(items, ",")+`]}`), received)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 0 || res.Rejected != 8000 || len(res.Errors) != MaxListedErrors {
		t.Fatalf("%d messages, %d rejected, %d errors listed; want every item refused, %d listed", len(res.Messages), res.Rejected, len(res.Errors), MaxListedErrors)
	}
	if e := res.Errors[0]; e.Code != "too_large" || e.Field != "context" || !strings.Contains(e.Message, "with the batch's context (241675 bytes) merged into it") {
		t.Errorf("first error %+v", e)
	}

	// A context that fits each item, but not thousands of copies: items
	// are accepted until the batch reaches MaxBatchExpandedBytes.
	ctx = `{"blob":"` + strings.Repeat("c", 20<<10) + `"}`
	item := `{"type":"track","userId":"u1","event":"E"}`
	n := 1000
	body := `{"context":` + ctx + `,"batch":[` + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + `]}`
	res, err = ParseBatch([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	per := len(item) + len(ctx)
	fit := MaxBatchExpandedBytes / per
	if len(res.Messages) != fit || res.Rejected != n-fit {
		t.Fatalf("%d accepted, %d refused; want %d accepted (%d bytes each)", len(res.Messages), res.Rejected, fit, per)
	}
	if e := res.Errors[0]; e.Index != fit || e.Code != "too_large" || e.Field != "context" || !strings.Contains(e.Message, "send fewer messages per batch") {
		t.Errorf("first error %+v", e)
	}
	expanded := 0
	for _, m := range res.Messages {
		b, _ := json.Marshal(m.Context)
		expanded += m.Size + len(b)
	}
	if expanded > MaxBatchExpandedBytes {
		t.Errorf("accepted items come to %d bytes with their context, over %d", expanded, MaxBatchExpandedBytes)
	}

	// Without a batch context nothing changes: a full 500 KB batch passes.
	body = `{"batch":[` + strings.TrimSuffix(strings.Repeat(item+",", MaxBatchBytes/(len(item)+1)-1), ",") + `]}`
	if res, err = ParseBatch([]byte(body), received); err != nil || res.Rejected != 0 {
		t.Errorf("plain full batch: %d rejected, %v", res.Rejected, err)
	}
}

// ParseBatch lists the first MaxListedErrors rejected items and counts
// them all, whatever their number.
func TestParseBatchListsTheFirstErrors(t *testing.T) {
	items := make([]string, 1000)
	for i := range items {
		items[i] = "1"
		if i%3 == 0 {
			items[i] = `{"type":"identify","userId":"u1"}`
		}
	}
	res, err := ParseBatch([]byte(`{"batch":[`+strings.Join(items, ",")+`]}`), received)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 334 || res.Rejected != 666 || len(res.Errors) != MaxListedErrors {
		t.Fatalf("%d messages, %d rejected, %d listed", len(res.Messages), res.Rejected, len(res.Errors))
	}
	if first, last := res.Errors[0].Index, res.Errors[MaxListedErrors-1].Index; first != 1 || last != 149 {
		t.Errorf("listed indexes %d…%d, want 1…149", first, last)
	}
}
