package delivery_test

import (
	"context"
	"errors"
	"testing"

	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
)

// ProviderEvents hands every inbound text to HandleInbound as the provider
// gave it, wakes the engine and the sender only for a text that was stored,
// and passes a failure back to the provider (which retries).
func TestProviderEventsHandInboundTextsOn(t *testing.T) {
	var got []provider.Inbound
	answer := struct {
		stored bool
		err    error
	}{}
	woken := 0
	ev := &delivery.ProviderEvents{Provider: "twilio",
		HandleInbound: func(_ context.Context, in provider.Inbound) (bool, error) {
			got = append(got, in)
			return answer.stored, answer.err
		},
		OnEvents: func() { woken++ }}
	in := provider.Inbound{From: "+14155550100", To: "+15005550006", Body: "STOP", ProviderID: "SMin1"}

	answer.stored = true
	if err := ev.Inbound(ctx, in); err != nil || woken != 1 {
		t.Errorf("stored text: %v, woken %d times; want nil, once", err, woken)
	}
	answer.stored = false
	if err := ev.Inbound(ctx, in); err != nil || woken != 1 {
		t.Errorf("text seen before: %v, woken %d times in all; want nil, once", err, woken)
	}
	answer.err = errors.New("database down")
	if err := ev.Inbound(ctx, in); !errors.Is(err, answer.err) || woken != 1 {
		t.Errorf("failed text: %v, woken %d times in all; want the failure, once", err, woken)
	}
	if len(got) != 3 || got[0] != in {
		t.Errorf("handed on %+v", got)
	}
}
