package engine

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

// Attack is the write-key attack's event properties (trust_pure_test.go).
var Attack = attack
