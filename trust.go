package smsflow

// Trust is how far smsflow believes an input. Every event records the trust
// of the source that sent it, and the engine reads it before it texts
// anyone on that event's word.
//
//   - Public: the write key. It sits in web pages, so anyone can use it: its
//     events may not re-point or merge contacts, never cause a service text
//     to a number that is not verified, print as plain text in templates,
//     and their links must point at allowed hosts.
//   - Trusted: the server key and the admin key (secrets of the back end),
//     Shopify (HMAC-signed webhooks), imports (the operator), and what
//     smsflow records itself (inbound texts, receipts, clicks, consent).
type Trust string

// Trust levels. The zero value reads as trusted: events stored before trust
// was recorded came from back ends and smsflow itself (migration 0016), and
// so did the runs they started.
const (
	TrustPublic  Trust = "public"
	TrustTrusted Trust = "trusted"
)

// Public reports whether the input came from the public write key.
func (t Trust) Public() bool { return t == TrustPublic }

// Stored is the value kept in the events table: "public" or "trusted".
func (t Trust) Stored() string {
	if t.Public() {
		return string(TrustPublic)
	}
	return string(TrustTrusted)
}
