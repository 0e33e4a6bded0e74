// Package console is the development provider: it logs each SMS (phone
// masked; the body at DEBUG only), keeps the most recent ones in memory for the API and UI,
// and reports them delivered at once (a simulated delivery receipt). Replies
// are typed in through POST /v1/console/inbound.
package console

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

// Keep is how many recent messages the console remembers.
const Keep = 1000

// Console is the console provider. It is safe for concurrent use.
type Console struct {
	log *slog.Logger

	mu       sync.Mutex
	recent   []smsflow.Message
	sent     int64
	watchers map[chan smsflow.Message]struct{}
}

// WatchBuffer is how many sent messages a watcher that falls behind may
// have waiting; later ones are dropped for it (Send never waits on a
// watcher).
const WatchBuffer = 64

// New returns a console provider logging to log.
func New(log *slog.Logger) *Console { return &Console{log: log} }

// Name is "console".
func (c *Console) Name() string { return "console" }

// Send prints the message and keeps it.
func (c *Console) Send(_ context.Context, m *smsflow.Message) (provider.Result, error) {
	c.mu.Lock()
	c.sent++
	id := fmt.Sprintf("console-%d", m.ID)
	c.recent = append(c.recent, *m)
	if len(c.recent) > Keep {
		c.recent = c.recent[len(c.recent)-Keep:]
	}
	for w := range c.watchers {
		select {
		case w <- *m:
		default: // a slow watcher misses it rather than holding up sends
		}
	}
	c.mu.Unlock()
	// The body only at DEBUG: it may hold anything, numbers included
	// (the handler masks those too). The API and UI show it in full.
	c.log.Info("SMS", "to", m.Phone, "message", m.ID, "flow", m.FlowID, "step", m.StepID, "segments", m.Segments)
	c.log.Debug("SMS body", "message", m.ID, "body", m.Body)
	return provider.Result{ProviderID: id, Status: smsflow.MessageDelivered}, nil
}

// Recent returns the messages sent lately, oldest first.
func (c *Console) Recent() []smsflow.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]smsflow.Message(nil), c.recent...)
}

// Watch returns a channel that gets each message sent from now on (the web
// UI's live console), and the func that ends the watch; call it exactly
// once, when the watcher stops reading.
func (c *Console) Watch() (<-chan smsflow.Message, func()) {
	ch := make(chan smsflow.Message, WatchBuffer)
	c.mu.Lock()
	if c.watchers == nil {
		c.watchers = map[chan smsflow.Message]struct{}{}
	}
	c.watchers[ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.watchers, ch)
		c.mu.Unlock()
	}
}

// Watchers returns how many watches are open.
func (c *Console) Watchers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.watchers)
}

// Sent returns how many messages were sent.
func (c *Console) Sent() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}
