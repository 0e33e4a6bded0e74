package segment

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
)

var kinds = []string{TypeTrack, TypeIdentify, TypePage, TypeScreen, TypeAlias, TypeGroup}

// seedBodies returns the testdata payloads plus hand-written edge cases.
func seedBodies(f *testing.F) (single, batch [][]byte) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if strings.HasSuffix(file, "-batch.json") {
			batch = append(batch, b)
		} else {
			single = append(single, b)
		}
	}
	for _, s := range []string{
		`{"userId":42,"event":"E","originalTimestamp":"2024-05-01T10:00:00Z","sentAt":"2099-12-31T23:59:59Z"}`,
		`{"userId":"u","previousId":"p","groupId":1e3,"traits":{"phone":1.5e300,"timezone":"UTC"}}`,
		`{"anonymousId":"a","event":"E","context":{"traits":{"phone":"+14155550100"},"timezone":"GMT+0530"}}`,
		`{"userId":"u","event":"E","timestamp":"1900-01-01T00:00:00+14:00"}`,
		`{"userId":"u","event":"E","timestamp":"2099-12-31T23:59:59-14:00","messageId":""}`,
		`[]`, `null`, `{}`, `{"type":"track"}`,
	} {
		single = append(single, []byte(s))
	}
	for _, s := range []string{
		`{"batch":[{"type":"track","userId":"u","event":"E","originalTimestamp":"1900-01-01T00:00:00Z"}],"sentAt":"2099-12-31T23:59:59Z"}`,
		`{"batch":[null,1,"x",[],{}],"context":{"a":{"b":{"c":1}}}}`,
		`{"batch":[{"type":"identify","userId":1,"context":{"a":{"b":2}}}],"context":{"a":{"b":{"c":1}}},"writeKey":"k"}`,
		`{"batch":{}}`, `{"batch":[]}`, `{}`,
	} {
		batch = append(batch, []byte(s))
	}
	return single, batch
}

// checkMessage asserts the invariants of every accepted message.
func checkMessage(t *testing.T, m Message) {
	t.Helper()
	if !validType(m.Type) {
		t.Fatalf("accepted message with Type %q", m.Type)
	}
	if m.MessageID == "" || utf8.RuneCountInString(m.MessageID) > MaxMessageIDLength {
		t.Fatalf("accepted message with MessageID %q", m.MessageID)
	}
	if m.Timestamp.IsZero() || m.Timestamp.Location() != time.UTC {
		t.Fatalf("accepted message with Timestamp %v", m.Timestamp)
	}
	if m.UserID == "" && m.AnonymousID == "" {
		t.Fatalf("accepted message without userId or anonymousId")
	}
	// Everything PostgreSQL indexes is an identifier both databases store.
	for field, id := range map[string]string{"userId": m.UserID, "anonymousId": m.AnonymousID, "previousId": m.PreviousID,
		"groupId": m.GroupID, "event": m.Event, "name": m.Name} {
		if err := smsflow.CheckID(field, id, smsflow.MaxIDLength); err != nil {
			t.Fatalf("accepted message with %s %q: %v", field, id, err)
		}
	}
	if m.Type == TypeTrack {
		if err := smsflow.CheckOrderID(m.Event, m.Properties); err != nil {
			t.Fatalf("accepted order id: %v", err)
		}
	}
	if y := m.Timestamp.Year(); y < minYear || y > maxYear {
		t.Fatalf("accepted message with Timestamp %v", m.Timestamp)
	}
	for _, obj := range []map[string]any{m.Properties, m.Traits, m.Context} {
		if n, bad := outOfRange(obj); bad {
			t.Fatalf("accepted the number %s, which reads back as no float64", n)
		}
	}
	if m.Size > MaxItemBytes {
		t.Fatalf("accepted message of %d bytes", m.Size)
	}
}

func checkAppError(t *testing.T, err error) {
	t.Helper()
	var e *smsflow.Error
	if !errors.As(err, &e) || (e.Code != smsflow.EINVALID && e.Code != smsflow.ETOOLARGE) || e.Message == "" {
		t.Fatalf("error %v (%T) is not an invalid/too_large *smsflow.Error", err, err)
	}
}

func FuzzParseOne(f *testing.F) {
	single, _ := seedBodies(f)
	for _, b := range single {
		for i := range kinds {
			f.Add(uint8(i), b)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kind := kinds[int(k)%len(kinds)]
		m, err := ParseOne(kind, body, received)
		if err != nil {
			checkAppError(t, err)
			return
		}
		if m.Type != kind {
			t.Fatalf("Type = %q, want %q", m.Type, kind)
		}
		checkMessage(t, m)
		_ = WriteKey(body)
	})
}

func FuzzParseBatch(f *testing.F) {
	_, batch := seedBodies(f)
	for _, b := range batch {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := ParseBatch(body, received)
		if err != nil {
			checkAppError(t, err)
			return
		}
		if len(res.Messages) != len(res.Indexes) {
			t.Fatalf("%d messages but %d indexes", len(res.Messages), len(res.Indexes))
		}
		for _, m := range res.Messages {
			checkMessage(t, m)
		}
		// Accepted and rejected indexes are each increasing and never meet.
		seen := map[int]bool{}
		last := -1
		for _, i := range res.Indexes {
			if i <= last {
				t.Fatalf("Indexes not increasing: %v", res.Indexes)
			}
			last, seen[i] = i, true
		}
		last = -1
		for _, e := range res.Errors {
			if e.Index <= last || seen[e.Index] {
				t.Fatalf("bad error index %d (indexes %v, errors %+v)", e.Index, res.Indexes, res.Errors)
			}
			if e.Code != smsflow.EINVALID && e.Code != smsflow.ETOOLARGE || e.Message == "" {
				t.Fatalf("bad item error %+v", e)
			}
			last = e.Index
		}
		if res.Rejected < len(res.Errors) || len(res.Errors) > MaxListedErrors || (res.Rejected > len(res.Errors) && len(res.Errors) != MaxListedErrors) {
			t.Fatalf("%d rejected, %d listed", res.Rejected, len(res.Errors))
		}
		if got, want := res.WriteKey, WriteKey(body); got != want {
			t.Fatalf("WriteKey = %q, but WriteKey(body) = %q", got, want)
		}
	})
}
