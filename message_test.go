package smsflow_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// A zero time is "not set", never the year 1: an inbound message has no
// send_before, a run that has not ended no ended_at (issue 15 item 8).
func TestZeroTimesAreOmitted(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for name, v := range map[string]any{
		"inbound message": smsflow.Message{ID: 1, Direction: "in", Body: "hi", Status: smsflow.MessageReceived, CreatedAt: at, UpdatedAt: at},
		"active run":      smsflow.Run{ID: 1, FlowID: "welcome", ContactID: "ana", EnteredAt: at, UpdatedAt: at},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "0001-01-01") {
			t.Errorf("%s: %s shows a zero time", name, b)
		}
	}
	b, _ := json.Marshal(smsflow.Message{Direction: "out", SendBefore: at})
	if !strings.Contains(string(b), `"send_before":"2026-03-01T12:00:00Z"`) {
		t.Errorf("a set send_before is shown: %s", b)
	}
}
