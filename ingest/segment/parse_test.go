package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// received is the server's receipt time in every test.
var received = time.Date(2024, 5, 1, 10, 0, 2, 0, time.UTC)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts.UTC()
}

// checkErr asserts err is a *smsflow.Error with the code and field, and that
// its message contains msg.
func checkErr(t *testing.T, err error, code, field, msg string) {
	t.Helper()
	var e *smsflow.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a *smsflow.Error", err, err)
	}
	if got, want := e.Code, code; got != want {
		t.Errorf("Code = %q, want %q (%v)", got, want, err)
	}
	if got, want := e.Field, field; got != want {
		t.Errorf("Field = %q, want %q (%v)", got, want, err)
	}
	if !strings.Contains(e.Message, msg) {
		t.Errorf("Message = %q, want it to contain %q", e.Message, msg)
	}
}

func TestParseOneAccepts(t *testing.T) {
	tests := []struct {
		name, kind, body string
		check            func(t *testing.T, m Message)
	}{
		{"track", "track", `{"type":"track","userId":"u1","event":"Order Completed","messageId":"m1","properties":{"revenue":42.5,"order_id":"1001"}}`,
			func(t *testing.T, m Message) {
				if got, want := m.Event, "Order Completed"; got != want {
					t.Errorf("Event = %q, want %q", got, want)
				}
				if got, want := m.Properties["revenue"], any(json.Number("42.5")); got != want {
					t.Errorf("properties.revenue = %#v, want %#v", got, want)
				}
			}},
		{"type may be absent", "track", `{"userId":"u1","event":"E"}`,
			func(t *testing.T, m Message) {
				if got, want := m.Type, "track"; got != want {
					t.Errorf("Type = %q, want %q", got, want)
				}
			}},
		{"empty type counts as absent", "identify", `{"type":"","userId":"u1"}`,
			func(t *testing.T, m Message) {
				if got, want := m.Type, "identify"; got != want {
					t.Errorf("Type = %q, want %q", got, want)
				}
			}},
		{"anonymousId alone", "track", `{"anonymousId":"a1","event":"E"}`,
			func(t *testing.T, m Message) {
				if got, want := m.AnonymousID+"|"+m.UserID, "a1|"; got != want {
					t.Errorf("AnonymousID|UserID = %q, want %q", got, want)
				}
			}},
		{"null userId with anonymousId", "page", `{"userId":null,"anonymousId":"a1"}`,
			func(t *testing.T, m Message) {
				if got, want := m.UserID, ""; got != want {
					t.Errorf("UserID = %q, want %q", got, want)
				}
			}},
		{"numeric userId", "identify", `{"userId":42}`,
			func(t *testing.T, m Message) {
				if got, want := m.UserID, "42"; got != want {
					t.Errorf("UserID = %q, want %q", got, want)
				}
			}},
		{"numeric userId past 2^53 keeps its digits", "identify", `{"userId":12345678901234567890}`,
			func(t *testing.T, m Message) {
				if got, want := m.UserID, "12345678901234567890"; got != want {
					t.Errorf("UserID = %q, want %q", got, want)
				}
			}},
		{"negative, fractional and exponent ids", "identify", `{"userId":-7,"anonymousId":1.5,"messageId":1e3}`,
			func(t *testing.T, m Message) {
				if got, want := m.UserID+"|"+m.AnonymousID+"|"+m.MessageID, "-7|1.5|1000"; got != want {
					t.Errorf("ids = %q, want %q", got, want)
				}
			}},
		{"alias", "alias", `{"userId":"u1","previousId":"anon-9"}`,
			func(t *testing.T, m Message) {
				if got, want := m.PreviousID, "anon-9"; got != want {
					t.Errorf("PreviousID = %q, want %q", got, want)
				}
			}},
		{"group", "group", `{"userId":"u1","groupId":77,"traits":{"name":"Acme"}}`,
			func(t *testing.T, m Message) {
				if got, want := m.GroupID, "77"; got != want {
					t.Errorf("GroupID = %q, want %q", got, want)
				}
			}},
		{"page name", "page", `{"userId":"u1","name":"Home","properties":{"url":"https://x"}}`,
			func(t *testing.T, m Message) {
				if got, want := m.Name, "Home"; got != want {
					t.Errorf("Name = %q, want %q", got, want)
				}
			}},
		{"screen without name", "screen", `{"userId":"u1"}`,
			func(t *testing.T, m Message) {
				if got, want := m.Name, ""; got != want {
					t.Errorf("Name = %q, want %q", got, want)
				}
			}},
		{"null objects are absent", "track", `{"userId":"u1","event":"E","properties":null,"traits":null,"context":null}`,
			func(t *testing.T, m Message) {
				if m.Properties != nil || m.Traits != nil || m.Context != nil {
					t.Errorf("Properties, Traits, Context = %v, %v, %v; want nil", m.Properties, m.Traits, m.Context)
				}
			}},
		{"duplicate keys: last wins", "track", `{"userId":"u1","event":"First","event":"Second"}`,
			func(t *testing.T, m Message) {
				if got, want := m.Event, "Second"; got != want {
					t.Errorf("Event = %q, want %q", got, want)
				}
			}},
		{"messageId of 100 characters", "track", `{"userId":"u1","event":"E","messageId":"` + strings.Repeat("é", 100) + `"}`,
			func(t *testing.T, m Message) {
				if got, want := m.MessageID, strings.Repeat("é", 100); got != want {
					t.Errorf("MessageID = %q, want %q", got, want)
				}
			}},
		{"event of 200 characters", "track", `{"userId":"u1","event":"` + strings.Repeat("e", 200) + `"}`,
			func(t *testing.T, m Message) {
				if got, want := len(m.Event), 200; got != want {
					t.Errorf("len(Event) = %d, want %d", got, want)
				}
			}},
		{"unknown fields are ignored", "track", `{"userId":"u1","event":"E","integrations":{"All":true},"_metadata":{},"channel":"web","receivedAt":"bogus"}`,
			func(t *testing.T, m Message) {
				if got, want := m.ReceivedAt, received; !got.Equal(want) {
					t.Errorf("ReceivedAt = %v, want %v", got, want)
				}
			}},
		{"size is the body's", "track", `{"userId":"u1", "event":"E"}`,
			func(t *testing.T, m Message) {
				if got, want := m.Size, len(`{"userId":"u1", "event":"E"}`); got != want {
					t.Errorf("Size = %d, want %d", got, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseOne(tt.kind, []byte(tt.body), received)
			if err != nil {
				t.Fatalf("ParseOne: %v", err)
			}
			if got, want := m.Type, tt.kind; got != want {
				t.Errorf("Type = %q, want %q", got, want)
			}
			tt.check(t, m)
		})
	}
}

func TestParseOneGeneratesMessageID(t *testing.T) {
	seen := map[string]bool{}
	for _, body := range []string{`{"userId":"u1","event":"E"}`, `{"userId":"u1","event":"E","messageId":""}`, `{"userId":"u1","event":"E","messageId":null}`} {
		m, err := ParseOne("track", []byte(body), received)
		if err != nil {
			t.Fatal(err)
		}
		id, ok := strings.CutPrefix(m.MessageID, "gen-")
		if !ok || len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Errorf("MessageID = %q, want gen- and 32 hex digits", m.MessageID)
		}
		if seen[m.MessageID] {
			t.Errorf("MessageID %q generated twice", m.MessageID)
		}
		seen[m.MessageID] = true
	}
}

func TestParseOneRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name, kind, body  string
		code, field, want string
	}{
		{"unknown route", "purchase", `{"userId":"u1"}`, "invalid", "type", `unknown call type "purchase"`},
		{"type disagrees with route", "track", `{"type":"identify","userId":"u1"}`, "invalid", "type", `has type "identify" but was sent to the track endpoint`},
		{"type not a string", "track", `{"type":1,"userId":"u1","event":"E"}`, "invalid", "type", "type must be a string"},
		{"not JSON", "track", `{"userId":`, "invalid", "", "the body is not valid JSON"},
		{"empty body", "track", ``, "invalid", "", "the body is not valid JSON"},
		{"trailing garbage", "track", `{"userId":"u1","event":"E"} x`, "invalid", "", "the body is not valid JSON"},
		{"array body", "track", `[{"userId":"u1"}]`, "invalid", "", "the body must be a JSON object"},
		{"null body", "track", `null`, "invalid", "", "the body must be a JSON object"},
		{"string body", "track", `"hi"`, "invalid", "", "the body must be a JSON object"},
		{"no ids", "track", `{"event":"E"}`, "invalid", "userId", "userId or anonymousId is required"},
		{"empty ids", "identify", `{"userId":"","anonymousId":""}`, "invalid", "userId", "userId or anonymousId is required"},
		{"boolean userId", "identify", `{"userId":true}`, "invalid", "userId", "userId must be a string or a number"},
		{"object anonymousId", "identify", `{"anonymousId":{"id":1}}`, "invalid", "anonymousId", "anonymousId must be a string or a number"},
		{"alias without previousId", "alias", `{"userId":"u1"}`, "invalid", "previousId", "needs previousId"},
		{"alias without userId", "alias", `{"previousId":"p","anonymousId":"a"}`, "invalid", "userId", "needs userId"},
		{"group without groupId", "group", `{"userId":"u1"}`, "invalid", "groupId", "needs groupId"},
		{"track without event", "track", `{"userId":"u1"}`, "invalid", "event", "needs an event name"},
		{"track with empty event", "track", `{"userId":"u1","event":""}`, "invalid", "event", "needs an event name"},
		{"track with blank event", "track", `{"userId":"u1","event":"  "}`, "invalid", "event", "needs an event name"},
		{"event not a string", "track", `{"userId":"u1","event":5}`, "invalid", "event", "event must be a string"},
		{"event too long", "track", `{"userId":"u1","event":"` + long(201) + `"}`, "invalid", "event", "201 characters long; the limit is 200"},
		{"messageId too long", "track", `{"userId":"u1","event":"E","messageId":"` + long(101) + `"}`, "invalid", "messageId", "101 characters long; the limit is 100"},
		{"page name not a string", "page", `{"userId":"u1","name":["Home"]}`, "invalid", "name", "name must be a string"},
		{"properties an array", "track", `{"userId":"u1","event":"E","properties":[1,2]}`, "invalid", "properties", "properties must be an object"},
		{"traits a string", "identify", `{"userId":"u1","traits":"vip"}`, "invalid", "traits", "traits must be an object"},
		{"context a number", "identify", `{"userId":"u1","context":3}`, "invalid", "context", "context must be an object"},
		{"number out of float64 range", "track", `{"userId":"u1","event":"E","properties":{"n":1e400}}`, "invalid", "properties", "properties is not valid"},
		{"too large", "track", `{"userId":"u1","event":"E","properties":{"p":"` + long(MaxItemBytes) + `"}}`, "too_large", "", "the limit is 32768 bytes (32 KB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseOne(tt.kind, []byte(tt.body), received)
			if err == nil {
				t.Fatalf("ParseOne = %+v, want an error", m)
			}
			checkErr(t, err, tt.code, tt.field, tt.want)
		})
	}
}

func TestParseOneZeroReceivedAt(t *testing.T) {
	_, err := ParseOne("track", []byte(`{"userId":"u1","event":"E"}`), time.Time{})
	if got, want := smsflow.ErrorCode(err), smsflow.EINTERNAL; got != want {
		t.Errorf("ErrorCode = %q, want %q (%v)", got, want, err)
	}
	_, err = ParseBatch([]byte(`{"batch":[]}`), time.Time{})
	if got, want := smsflow.ErrorCode(err), smsflow.EINTERNAL; got != want {
		t.Errorf("batch ErrorCode = %q, want %q (%v)", got, want, err)
	}
}

// The size limit is on bytes as received: exactly MaxItemBytes passes.
func TestParseOneSizeBoundary(t *testing.T) {
	head, tail := `{"userId":"u1","event":"E","properties":{"p":"`, `"}}`
	body := head + strings.Repeat("x", MaxItemBytes-len(head)-len(tail)) + tail
	m, err := ParseOne("track", []byte(body), received)
	if err != nil {
		t.Fatalf("body of %d bytes: %v", len(body), err)
	}
	if got, want := m.Size, MaxItemBytes; got != want {
		t.Errorf("Size = %d, want %d", got, want)
	}
	_, err = ParseOne("track", []byte(body+" "), received)
	checkErr(t, err, "too_large", "", "32769 bytes")
}

func TestTimestamps(t *testing.T) {
	// received is 2024-05-01T10:00:02Z.
	tests := []struct {
		name, fields string
		want         string
	}{
		{"timestamp wins", `"timestamp":"2024-05-01T09:00:00.5+02:00","originalTimestamp":"2024-05-01T09:59:00Z","sentAt":"2024-05-01T10:00:30Z"`, "2024-05-01T07:00:00.5Z"},
		// sentAt − originalTimestamp = 10:00:30 − 09:59:00 = 90 s on the
		// client's clock, so the event happened 90 s before receipt:
		// 10:00:02 − 90 s = 09:58:32, whatever the client's clock said.
		{"originalTimestamp and sentAt", `"originalTimestamp":"2024-05-01T09:59:00Z","sentAt":"2024-05-01T10:00:30Z"`, "2024-05-01T09:58:32Z"},
		// A client clock 3 h behind, writing its zone: originalTimestamp is
		// 05:59:59-01:00 = 06:59:59Z, so sentAt − original =
		// 07:00:01.250 − 06:59:59.000 = 2.25 s → 10:00:02 − 2.25 s.
		{"skewed client clock", `"originalTimestamp":"2024-05-01T05:59:59-01:00","sentAt":"2024-05-01T07:00:01.250Z"`, "2024-05-01T09:59:59.75Z"},
		// sentAt before originalTimestamp (clock changed meanwhile): the
		// event lands after receipt, as the arithmetic says.
		{"sentAt before originalTimestamp", `"originalTimestamp":"2024-05-01T10:00:10Z","sentAt":"2024-05-01T10:00:00Z"`, "2024-05-01T10:00:12Z"},
		{"originalTimestamp alone", `"originalTimestamp":"2024-04-30T22:15:00.250-04:00"`, "2024-05-01T02:15:00.25Z"},
		{"sentAt alone", `"sentAt":"2024-05-01T09:00:00Z"`, "2024-05-01T10:00:02Z"},
		{"nothing", ``, "2024-05-01T10:00:02Z"},
		{"null timestamp", `"timestamp":null`, "2024-05-01T10:00:02Z"},
		{"no fraction", `"timestamp":"2024-05-01T10:00:00Z"`, "2024-05-01T10:00:00Z"},
		{"milliseconds", `"timestamp":"2024-05-01T10:00:00.123Z"`, "2024-05-01T10:00:00.123Z"},
		{"nanoseconds", `"timestamp":"2024-05-01T10:00:00.123456789Z"`, "2024-05-01T10:00:00.123456789Z"},
		{"offset", `"timestamp":"2024-05-01T15:30:00+05:30"`, "2024-05-01T10:00:00Z"},
		{"offset without colon", `"timestamp":"2024-05-01T10:00:00.123+0000"`, "2024-05-01T10:00:00.123Z"},
		{"lower case", `"timestamp":"2024-05-01t10:00:00z"`, "2024-05-01T10:00:00Z"},
		{"space separator", `"timestamp":"2024-05-01 10:00:00Z"`, "2024-05-01T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"userId":"u1","event":"E"`
			if tt.fields != "" {
				body += "," + tt.fields
			}
			m, err := ParseOne("track", []byte(body+"}"), received)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.Timestamp, mustTime(t, tt.want); !got.Equal(want) {
				t.Errorf("Timestamp = %v, want %v", got, want)
			}
			if got, want := m.Timestamp.Location(), time.UTC; got != want {
				t.Errorf("Timestamp location = %v, want UTC", got)
			}
		})
	}
}

func TestTimestampErrors(t *testing.T) {
	tests := []struct {
		name, fields, field, want string
	}{
		{"garbage timestamp", `"timestamp":"yesterday"`, "timestamp", `timestamp "yesterday" is not an ISO 8601 time`},
		{"no zone", `"timestamp":"2024-05-01T10:00:00"`, "timestamp", "is not an ISO 8601 time with a zone"},
		{"date only", `"timestamp":"2024-05-01"`, "timestamp", "is not an ISO 8601 time"},
		{"epoch milliseconds", `"timestamp":1714557600000`, "timestamp", "timestamp must be an ISO 8601 string"},
		{"bad month", `"timestamp":"2024-13-01T10:00:00Z"`, "timestamp", "is not an ISO 8601 time"},
		{"before 1900", `"timestamp":"1899-12-31T23:59:59Z"`, "timestamp", "is out of range; years 1900 to 2099"},
		{"after 2099", `"originalTimestamp":"2100-01-01T00:00:00Z"`, "originalTimestamp", "is out of range"},
		{"bad originalTimestamp though timestamp given", `"timestamp":"2024-05-01T10:00:00Z","originalTimestamp":"soon"`, "originalTimestamp", `originalTimestamp "soon"`},
		{"bad sentAt", `"originalTimestamp":"2024-05-01T10:00:00Z","sentAt":"now"`, "sentAt", `sentAt "now"`},
		{"sentAt an object", `"sentAt":{}`, "sentAt", "sentAt must be an ISO 8601 string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOne("track", []byte(`{"userId":"u1","event":"E",`+tt.fields+`}`), received)
			if err == nil {
				t.Fatal("ParseOne succeeded, want an error")
			}
			checkErr(t, err, "invalid", tt.field, tt.want)
		})
	}
}

func TestReceivedAtIsUTC(t *testing.T) {
	ny := time.FixedZone("EDT", -4*3600)
	m, err := ParseOne("track", []byte(`{"userId":"u1","event":"E"}`), received.In(ny))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.ReceivedAt, received; got != want {
		t.Errorf("ReceivedAt = %v, want %v (UTC)", got, want)
	}
	if got, want := m.Timestamp, received; got != want {
		t.Errorf("Timestamp = %v, want %v (UTC)", got, want)
	}
}

func TestPhoneAndTimezone(t *testing.T) {
	tests := []struct {
		name, kind, body string
		phone, tz        string
	}{
		{"traits.phone", "identify", `{"userId":"u1","traits":{"phone":"(415) 555-0100"}}`, "(415) 555-0100", ""},
		{"context.traits.phone", "track", `{"userId":"u1","event":"E","context":{"traits":{"phone":"+44 20 7946 0958"}}}`, "+44 20 7946 0958", ""},
		{"traits.phone over context.traits.phone", "identify", `{"userId":"u1","traits":{"phone":"1"},"context":{"traits":{"phone":"2"}}}`, "1", ""},
		{"empty traits.phone falls back", "identify", `{"userId":"u1","traits":{"phone":""},"context":{"traits":{"phone":"2"}}}`, "2", ""},
		{"null traits.phone falls back", "identify", `{"userId":"u1","traits":{"phone":null},"context":{"traits":{"phone":"2"}}}`, "2", ""},
		{"phone as a number", "identify", `{"userId":"u1","traits":{"phone":14155550100}}`, "14155550100", ""},
		{"phone kept raw (not validated)", "identify", `{"userId":"u1","traits":{"phone":"not a phone"}}`, "not a phone", ""},
		{"group traits are the group's", "group", `{"userId":"u1","groupId":"g","traits":{"phone":"+12125550199","timezone":"Asia/Tokyo"}}`, "", ""},
		{"group uses context.traits", "group", `{"userId":"u1","groupId":"g","traits":{"phone":"+12125550199"},"context":{"traits":{"phone":"+14155550100"},"timezone":"Europe/Paris"}}`, "+14155550100", "Europe/Paris"},
		{"traits.timezone", "identify", `{"userId":"u1","traits":{"timezone":"America/Chicago"},"context":{"timezone":"Europe/Paris"}}`, "", "America/Chicago"},
		{"empty traits.timezone falls back", "identify", `{"userId":"u1","traits":{"timezone":""},"context":{"timezone":"Europe/Paris"}}`, "", "Europe/Paris"},
		{"context.timezone", "track", `{"userId":"u1","event":"E","context":{"timezone":"Asia/Kolkata"}}`, "", "Asia/Kolkata"},
		{"invalid context.timezone is ignored", "track", `{"userId":"u1","event":"E","context":{"timezone":"GMT+0530"}}`, "", ""},
		{"non-string context.timezone is ignored", "track", `{"userId":"u1","event":"E","context":{"timezone":{"name":"Europe/Amsterdam"}}}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseOne(tt.kind, []byte(tt.body), received)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.Phone, tt.phone; got != want {
				t.Errorf("Phone = %q, want %q", got, want)
			}
			if got, want := m.Timezone, tt.tz; got != want {
				t.Errorf("Timezone = %q, want %q", got, want)
			}
		})
	}
}

func TestPhoneAndTimezoneErrors(t *testing.T) {
	tests := []struct {
		name, body, field, want string
	}{
		{"traits.phone an object", `{"userId":"u1","traits":{"phone":{"number":"1"}}}`, "traits.phone", "traits.phone must be a string"},
		{"context.traits.phone a boolean", `{"userId":"u1","context":{"traits":{"phone":true}}}`, "context.traits.phone", "context.traits.phone must be a string"},
		{"context.traits not an object", `{"userId":"u1","context":{"traits":"vip"}}`, "context.traits", "context.traits must be an object"},
		{"invalid traits.timezone", `{"userId":"u1","traits":{"timezone":"EST5EDT,M3.2.0"}}`, "traits.timezone", `"EST5EDT,M3.2.0" is not an IANA time zone name`},
		{"traits.timezone Local", `{"userId":"u1","traits":{"timezone":"Local"}}`, "traits.timezone", "is not an IANA time zone name"},
		{"traits.timezone a number", `{"userId":"u1","traits":{"timezone":-5}}`, "traits.timezone", "traits.timezone must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOne("identify", []byte(tt.body), received)
			if err == nil {
				t.Fatal("ParseOne succeeded, want an error")
			}
			checkErr(t, err, "invalid", tt.field, tt.want)
		})
	}
}

func TestWriteKey(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"writeKey":"wk_1","userId":"u1"}`, "wk_1"},
		{`{"batch":[],"writeKey":"wk_2"}`, "wk_2"},
		{`{"userId":"u1"}`, ""},
		{`{"writeKey":42}`, ""},
		{`{"writeKey":null}`, ""},
		{`{"WriteKey":"wrong case"}`, ""},
		{`{"writeKey":"wk_3"`, ""},
		{`["writeKey"]`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got, want := WriteKey([]byte(tt.body)), tt.want; got != want {
			t.Errorf("WriteKey(%s) = %q, want %q", tt.body, got, want)
		}
	}
}

func TestParseBatchRejectsBody(t *testing.T) {
	tests := []struct {
		name, body, field, want string
	}{
		{"not JSON", `{"batch":[`, "", "the batch body is not valid JSON"},
		{"array", `[{"type":"track"}]`, "", "the batch body must be a JSON object"},
		{"no batch", `{"sentAt":"2024-05-01T10:00:00Z"}`, "batch", `needs a "batch" array`},
		{"null batch", `{"batch":null}`, "batch", `needs a "batch" array`},
		{"batch an object", `{"batch":{"0":{}}}`, "batch", `"batch" must be an array`},
		{"bad batch sentAt", `{"batch":[],"sentAt":"later"}`, "sentAt", `sentAt "later"`},
		{"bad batch context", `{"batch":[],"context":[]}`, "context", "context must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ParseBatch([]byte(tt.body), received)
			if err == nil {
				t.Fatalf("ParseBatch = %+v, want an error", res)
			}
			checkErr(t, err, "invalid", tt.field, tt.want)
		})
	}
}

func TestParseBatchEmpty(t *testing.T) {
	res, err := ParseBatch([]byte(`{"batch":[],"writeKey":"wk"}`), received)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 0 || len(res.Indexes) != 0 || len(res.Errors) != 0 {
		t.Errorf("ParseBatch = %+v, want nothing", res)
	}
	if got, want := res.WriteKey, "wk"; got != want {
		t.Errorf("WriteKey = %q, want %q", got, want)
	}
}

func TestParseBatchMixed(t *testing.T) {
	big := `{"type":"track","userId":"u1","event":"Big","properties":{"p":"` + strings.Repeat("x", MaxItemBytes) + `"}}`
	body := `{"batch":[
		{"type":"track","userId":"u1","event":"A","messageId":"m0"},
		{"userId":"u1","event":"No type"},
		{"type":"purchase","userId":"u1"},
		{"type":"identify","userId":"u2","traits":{"phone":"+14155550100"},"messageId":"m3"},
		"not an object",
		{"type":"track","userId":"u1"},
		` + big + `,
		{"type":"page","anonymousId":"a1","messageId":"m7","timestamp":"bad"},
		{"type":"alias","userId":"u1","previousId":"a1","messageId":"m8"},
		{"type":"identify","userId":"u3","traits":{"timezone":"Nowhere/Land"}},
		{"type":"track","event":"E"},
		null
	],"writeKey":"wk_9"}`
	res, err := ParseBatch([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	bigSize := len(big)
	wantErrors := []ItemError{
		{Index: 1, Code: "invalid", Field: "type", Message: "type is required in a batch message; use one of track, identify, page, screen, alias, group"},
		{Index: 2, Code: "invalid", Field: "type", Message: `type "purchase" is not one of track, identify, page, screen, alias, group`},
		{Index: 4, Code: "invalid", Field: "", Message: "the message must be a JSON object"},
		{Index: 5, Code: "invalid", Field: "event", Message: `a track call needs an event name, like "Order Completed"`},
		{Index: 6, Code: "too_large", Field: "", Message: fmt.Sprintf("the message is %d bytes; the limit is 32768 bytes (32 KB) per message", bigSize)},
		{Index: 7, Code: "invalid", Field: "timestamp", Message: `timestamp "bad" is not an ISO 8601 time with a zone, like 2024-05-01T10:00:00.123Z or 2024-05-01T12:00:00+02:00`},
		{Index: 9, Code: "invalid", Field: "traits.timezone", Message: `"Nowhere/Land" is not an IANA time zone name like America/New_York`},
		{Index: 10, Code: "invalid", Field: "userId", Message: "userId or anonymousId is required"},
		{Index: 11, Code: "invalid", Field: "", Message: "the message must be a JSON object"},
	}
	if got, want := res.Errors, wantErrors; !reflect.DeepEqual(got, want) {
		t.Errorf("Errors =\n%s\nwant\n%s", dumpErrors(got), dumpErrors(want))
	}
	if got, want := res.Indexes, []int{0, 3, 8}; !reflect.DeepEqual(got, want) {
		t.Errorf("Indexes = %v, want %v", got, want)
	}
	var ids []string
	for _, m := range res.Messages {
		ids = append(ids, m.MessageID)
	}
	if got, want := ids, []string{"m0", "m3", "m8"}; !reflect.DeepEqual(got, want) {
		t.Errorf("message ids = %v, want %v", got, want)
	}
	if got, want := res.WriteKey, "wk_9"; got != want {
		t.Errorf("WriteKey = %q, want %q", got, want)
	}
	if got, want := res.Messages[1].Phone, "+14155550100"; got != want {
		t.Errorf("Messages[1].Phone = %q, want %q", got, want)
	}
}

func dumpErrors(es []ItemError) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %+v\n", e)
	}
	return b.String()
}

func TestParseBatchItemSize(t *testing.T) {
	item := `{"type":"track","userId":"u1","event":"E"}`
	body := `{"batch":[` + item + `, ` + item + `]}`
	res, err := ParseBatch([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range res.Messages {
		if got, want := m.Size, len(item); got != want {
			t.Errorf("Messages[%d].Size = %d, want %d", i, got, want)
		}
	}
}

func TestParseBatchContextMerge(t *testing.T) {
	body := `{"batch":[
		{"type":"track","userId":"u1","event":"A","context":{"library":{"version":"2"},"locale":"en-US","ip":null}},
		{"type":"track","userId":"u1","event":"B"},
		{"type":"track","userId":"u1","event":"C","context":{"library":"flat"}}
	],"context":{"library":{"name":"analytics-go","version":"1"},"ip":"203.0.113.7","timezone":"Europe/Berlin"}}`
	res, err := ParseBatch([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 || len(res.Messages) != 3 {
		t.Fatalf("ParseBatch = %+v, want 3 messages", res)
	}
	want := []map[string]any{
		{"library": map[string]any{"name": "analytics-go", "version": "2"}, "locale": "en-US", "ip": nil, "timezone": "Europe/Berlin"},
		{"library": map[string]any{"name": "analytics-go", "version": "1"}, "ip": "203.0.113.7", "timezone": "Europe/Berlin"},
		{"library": "flat", "ip": "203.0.113.7", "timezone": "Europe/Berlin"},
	}
	for i, m := range res.Messages {
		if got, want := m.Context, want[i]; !reflect.DeepEqual(got, want) {
			t.Errorf("Messages[%d].Context = %v, want %v", i, got, want)
		}
		if got, want := m.Timezone, "Europe/Berlin"; got != want {
			t.Errorf("Messages[%d].Timezone = %q, want %q (from the batch context)", i, got, want)
		}
	}
	// Items never share the batch's maps.
	res.Messages[1].Context["library"].(map[string]any)["name"] = "changed"
	if got, want := res.Messages[0].Context["library"].(map[string]any)["name"], "analytics-go"; got != want {
		t.Errorf("after editing message 1, message 0 library.name = %v, want %v", got, want)
	}
}

func TestParseBatchSentAt(t *testing.T) {
	// received 10:00:02; batch sentAt 10:00:05 on the client's clock.
	body := `{"batch":[
		{"type":"track","userId":"u1","event":"A","originalTimestamp":"2024-05-01T10:00:00Z"},
		{"type":"track","userId":"u1","event":"B","originalTimestamp":"2024-05-01T10:00:00Z","sentAt":"2024-05-01T10:00:01Z"},
		{"type":"track","userId":"u1","event":"C","timestamp":"2024-05-01T08:00:00Z"},
		{"type":"track","userId":"u1","event":"D"}
	],"sentAt":"2024-05-01T10:00:05Z"}`
	res, err := ParseBatch([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2024-05-01T09:59:57Z", // 10:00:02 − (10:00:05 − 10:00:00)
		"2024-05-01T10:00:01Z", // 10:00:02 − (10:00:01 − 10:00:00): the item's own sentAt
		"2024-05-01T08:00:00Z", // timestamp as given
		"2024-05-01T10:00:02Z", // receivedAt
	}
	if len(res.Messages) != len(want) {
		t.Fatalf("ParseBatch = %+v, want %d messages", res, len(want))
	}
	for i, m := range res.Messages {
		if got, want := m.Timestamp, mustTime(t, want[i]); !got.Equal(want) {
			t.Errorf("Messages[%d] (%s).Timestamp = %v, want %v", i, m.Event, got, want)
		}
	}
}

// Real-shaped payloads from the client libraries parse cleanly.
func TestTestdata(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, ms []Message, writeKey string)
	}{
		{"analytics-js-track.json", func(t *testing.T, ms []Message, wk string) {
			m := ms[0]
			if got, want := m.Event+"|"+m.UserID+"|"+m.Timezone+"|"+wk, "Order Completed|user_1042|America/New_York|wk_3f9a7c1e5b"; got != want {
				t.Errorf("event|user|tz|writeKey = %q, want %q", got, want)
			}
			if got, want := m.Properties["revenue"], any(json.Number("25")); got != want {
				t.Errorf("revenue = %#v, want %#v", got, want)
			}
			if got, want := m.Timestamp, mustTime(t, "2024-05-01T10:00:00.123Z"); !got.Equal(want) {
				t.Errorf("Timestamp = %v, want %v", got, want)
			}
		}},
		{"analytics-js-identify.json", func(t *testing.T, ms []Message, _ string) {
			if got, want := ms[0].Phone+"|"+ms[0].Timezone, "(415) 555-0100|America/Los_Angeles"; got != want {
				t.Errorf("phone|tz = %q, want %q", got, want)
			}
		}},
		{"analytics-js-page.json", func(t *testing.T, ms []Message, _ string) {
			if got, want := ms[0].Name+"|"+ms[0].UserID+"|"+ms[0].AnonymousID, "Product||8d4b1e2a-6f0c-4a3e-9b7d-1c2e3f4a5b6c"; got != want {
				t.Errorf("name|user|anon = %q, want %q", got, want)
			}
		}},
		{"analytics-js-batch.json", func(t *testing.T, ms []Message, wk string) {
			if got, want := len(ms), 2; got != want {
				t.Fatalf("%d messages, want %d", got, want)
			}
			if got, want := ms[1].Event+"|"+wk, "Checkout Started|wk_3f9a7c1e5b"; got != want {
				t.Errorf("event|writeKey = %q, want %q", got, want)
			}
		}},
		{"analytics-node-batch.json", func(t *testing.T, ms []Message, _ string) {
			var types []string
			for _, m := range ms {
				types = append(types, m.Type)
			}
			if got, want := types, []string{"identify", "track", "group", "alias"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("types = %v, want %v", got, want)
			}
			if got, want := ms[0].Phone, "+1 415-555-0100"; got != want {
				t.Errorf("identify Phone = %q, want %q", got, want)
			}
			if got, want := ms[1].Properties["revenue"], any(json.Number("42.5")); got != want {
				t.Errorf("revenue = %#v, want %#v", got, want)
			}
			if got, want := ms[2].Phone+"|"+ms[2].GroupID, "|acct_77"; got != want {
				t.Errorf("group phone|groupId = %q, want %q (the group's phone is not the user's)", got, want)
			}
			if got, want := ms[3].PreviousID, "8d4b1e2a-6f0c-4a3e-9b7d-1c2e3f4a5b6c"; got != want {
				t.Errorf("alias PreviousID = %q, want %q", got, want)
			}
		}},
		{"analytics-go-batch.json", func(t *testing.T, ms []Message, _ string) {
			if got, want := len(ms), 3; got != want {
				t.Fatalf("%d messages, want %d", got, want)
			}
			if got, want := ms[0].Context, map[string]any{"ip": "203.0.113.7", "library": map[string]any{"name": "analytics-go", "version": "3.3.0"}}; !reflect.DeepEqual(got, want) {
				t.Errorf("Context = %v, want %v", got, want)
			}
			if got, want := ms[1].Timezone, "Europe/London"; got != want {
				t.Errorf("Timezone = %q, want %q", got, want)
			}
			if got, want := ms[2].Name, "Settings"; got != want {
				t.Errorf("screen Name = %q, want %q", got, want)
			}
		}},
		{"rudderstack-batch.json", func(t *testing.T, ms []Message, _ string) {
			if got, want := len(ms), 2; got != want {
				t.Fatalf("%d messages, want %d", got, want)
			}
			// The item's own sentAt: received − (10:00:00.900 − 09:59:58.900).
			if got, want := ms[0].Timestamp, received.Add(-2*time.Second); !got.Equal(want) {
				t.Errorf("Timestamp = %v, want %v", got, want)
			}
			if got, want := ms[0].Phone+"|"+ms[0].UserID, "030 901820|"; got != want {
				t.Errorf("phone|userId = %q, want %q", got, want)
			}
			// The batch's sentAt: received − (10:00:01 − 09:59:00).
			if got, want := ms[1].Timestamp, received.Add(-61*time.Second); !got.Equal(want) {
				t.Errorf("Timestamp = %v, want %v", got, want)
			}
			if got, want := ms[1].UserID+"|"+ms[1].Phone, "987654321|4915112345678"; got != want {
				t.Errorf("userId|phone = %q, want %q", got, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var ms []Message
			var wk string
			if strings.HasSuffix(tt.file, "-batch.json") {
				res, err := ParseBatch(body, received)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Errors) != 0 {
					t.Fatalf("Errors = %+v, want none", res.Errors)
				}
				ms, wk = res.Messages, res.WriteKey
			} else {
				kind := strings.Split(strings.TrimSuffix(tt.file, ".json"), "-")[2]
				m, err := ParseOne(kind, body, received)
				if err != nil {
					t.Fatal(err)
				}
				ms, wk = []Message{m}, WriteKey(body)
			}
			tt.check(t, ms, wk)
		})
	}
}
