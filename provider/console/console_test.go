package console

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
)

// The body of a text is logged at DEBUG only (issue 16 item 12): at INFO
// the console says a text went out, to whom (masked by the handler), and
// which message it is, not what it says.
func TestBodyOnlyAtDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		c := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})))
		m := &smsflow.Message{ID: 7, Phone: "+14155550100", Body: "Your code is 123456, call (415) 555-0199", Segments: 1}
		if _, err := c.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.Contains(out, "msg=SMS") || !strings.Contains(out, "message=7") {
			t.Errorf("%s: no SMS line: %s", level, out)
		}
		if has := strings.Contains(out, "Your code is"); has != (level == slog.LevelDebug) {
			t.Errorf("%s: body logged = %v:\n%s", level, has, out)
		}
	}
}
