package bench

import (
	"log/slog"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// The send pipeline that bench pace and bench timers drive without the app.
// These are the package's only references to where the sender lives, so
// that moving it touches this file alone.

// sendPipeline claims queued messages, paces them and calls the provider.
type sendPipeline = delivery.Sender

// sendPacing is a sender's rate, shared through the database.
type sendPacing = delivery.Pacing

// defaultConcurrency is the sender's provider calls in flight by default.
const defaultConcurrency = delivery.DefaultConcurrency

// newSender is the sender serve runs, on db and p.
func newSender(db *store.DB, p provider.Provider, clock smsflow.Clock, log *slog.Logger) *sendPipeline {
	return delivery.NewSender(db, p, clock, log)
}

// connectSender lets eng wake s when it queues messages, as serve wires them.
func connectSender(eng *engine.Engine, s *sendPipeline) { engine.Connect(eng, s) }
