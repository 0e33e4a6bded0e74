package engine

import "context"

// The governance helpers of governance_pure_test.go, for the
// database-backed scenarios of governance_test.go.
var (
	GovFlow       = govFlow
	DeferredUntil = deferredUntil
)

const GovPhone = govPhone

// CartFlow is the cart recovery flow of flows_pure_test.go, which
// engine_test.go runs end to end.
const CartFlow = cartFlow

// ShipFlow is the shipping flow of trust_pure_test.go, which trust_test.go
// runs end to end.
const ShipFlow = shipFlow

// ProcessInboxMore is ProcessInbox with whether the loop would go on at
// once (more events may be waiting) or look again soon (held: events wait
// for another transaction's older event of their contact).
func (e *Engine) ProcessInboxMore(ctx context.Context, limit int) (n int, more, held bool, err error) {
	p, err := e.processInbox(ctx, limit)
	return p.n, p.more, p.held, err
}

// Attack is the write-key attack's event properties (trust_pure_test.go).
var Attack = attack

// TraceKinds are a contact's traces as kind:step(reason), the form the
// engine's tests compare (reasons of waits and sends left out).
func TraceKinds(traces []Trace, contact string) []string {
	var out []string
	for _, tr := range traces {
		if tr.ContactID == contact {
			s := tr.Kind
			if tr.Step != "" {
				s += ":" + tr.Step
			}
			if tr.Reason != "" && tr.Kind != "wait" && tr.Kind != "send" {
				s += "(" + tr.Reason + ")"
			}
			out = append(out, s)
		}
	}
	return out
}
