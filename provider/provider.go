// Package provider is the outcome edge of the loop: the one small interface
// every SMS gateway implements (console, and later twilio, smpp, http). Rate
// limiting, retries and crash safety live once in the send pipeline
// (engine.Sender), not in each adapter.
package provider

import (
	"context"

	"github.com/smsflow/smsflow"
)

// Result is what a provider answered for one message.
type Result struct {
	ProviderID string // the provider's id for the message
	// Status is the message's status after the call: usually "sent"; a
	// provider that knows delivery at once (console) says "delivered".
	Status string
}

// Provider sends SMS. Send must not retry by itself: the pipeline decides.
type Provider interface {
	Name() string
	Send(ctx context.Context, m *smsflow.Message) (Result, error)
}
