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

// A watch sees each message sent while it is open, never one sent before
// or after; a watcher that stops reading never holds up Send.
func TestWatch(t *testing.T) {
	c := New(slog.New(slog.DiscardHandler))
	send := func(id int64) {
		if _, err := c.Send(context.Background(), &smsflow.Message{ID: id, Phone: "+14155550100", Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	send(1)
	ch, stop := c.Watch()
	idle, stopIdle := c.Watch() // never read
	if got := c.Watchers(); got != 2 {
		t.Fatalf("%d watchers, want 2", got)
	}
	for id := int64(2); id < 2+WatchBuffer+10; id++ {
		send(id) // more than the idle watcher's buffer: must not block
	}
	if m := <-ch; m.ID != 2 {
		t.Errorf("first watched message %d, want 2 (1 was sent before the watch)", m.ID)
	}
	if len(idle) != WatchBuffer {
		t.Errorf("the idle watcher holds %d messages, want its buffer's %d", len(idle), WatchBuffer)
	}
	stop()
	stopIdle()
	if got := c.Watchers(); got != 0 {
		t.Errorf("%d watchers after both stopped, want 0", got)
	}
}
