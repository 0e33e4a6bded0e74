// Package delivery is the outcome end of the loop: sending and what becomes
// of what was sent. The Sender claims queued messages from the outbox, paces
// them per sender address (Pacing), reads the number's consent again right
// before each provider call, calls the provider, and records the outcome —
// sent, failed, unknown, back in the outbox with back-off, a carrier opt-out.
// Delivery receipts (RecordDelivery), the receipts that arrive before their
// message's provider id is recorded (pending, applied by the sender or its
// sweep) and the events flows wait on (Message Delivered / Failed) are here
// too, as is ProviderEvents, the sink providers report receipts and inbound
// texts to: it stores each receipt in a durable queue before the provider is
// answered, and its applier applies the queue in batches behind (D88). Inbound texts themselves are handled by ingest (keywords,
// consent, replies), which the wiring hands to ProviderEvents: delivery does
// not import ingest.
package delivery
