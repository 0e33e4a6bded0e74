// Package httpgw is the generic HTTP gateway provider (provider: http): smsflow
// POSTs each message as JSON to a gateway you run, and the gateway POSTs
// delivery reports and inbound texts back. This comment is the contract for
// gateway authors.
//
// # Signing (both directions)
//
// Every request carries two headers:
//
//	X-Smsflow-Timestamp: 1700000000
//	X-Smsflow-Signature: sha256=5d1e…(64 hex digits)
//
// The timestamp is the sender's clock in Unix seconds. The signature is
// "sha256=" followed by the lower-case hex HMAC-SHA256, keyed with the shared
// secret (config http.secret), of the timestamp, a dot and the exact body
// bytes: HMAC(secret, "1700000000" + "." + body). Sign computes it. A
// receiver answers 401 when the signature does not match or the timestamp is
// more than 5 minutes (MaxSkew) away from its own clock, so a captured
// request cannot be replayed later. Compare signatures in constant time.
//
// # Sending: smsflow → gateway
//
//	POST {http.url}
//	Content-Type: application/json
//
//	{"id": "1234", "from": "+14155550199", "to": "+14155550100", "body": "Hi Ann…",
//	 "encoding": "GSM-7", "segments": 1,
//	 "status_url": "https://sms.example.com/webhooks/http/status"}
//
// id is smsflow's message id (a decimal string); a send that smsflow retries
// after a 429 or 5xx carries the same id, so a gateway that dedupes on it
// never sends twice. from is the sender to send as — the from of one of
// http.senders (the first unless the flow's send step names another with
// from:) — and is absent when http.senders is not configured (the gateway
// picks). encoding is "GSM-7" or "UCS-2" and segments the number of SMS
// parts smsflow measured. The gateway answers:
//
//   - 2xx with {"id": "gw-123"}: accepted. The gateway's id is what its
//     delivery reports must name.
//   - 4xx other than 429: refused for good; smsflow does not retry. The
//     HTTP status becomes the error code; a body of {"error": "why"} (or
//     {"message": "why"}) is shown to people.
//   - 429 or 5xx: not accepted; smsflow retries later with backoff and
//     honors Retry-After (seconds or an HTTP date).
//   - Anything else — a 2xx without an id, a 3xx, no answer, a connection cut
//     after the request was sent: smsflow cannot tell whether the message
//     went out, marks it unknown and never resends it by itself.
//
// # Delivery reports: gateway → smsflow
//
//	POST {public_url}/webhooks/http/status
//	{"id": "gw-123", "status": "delivered", "error_code": ""}
//
// status is one of sent, delivered, undelivered, failed; error_code is the
// gateway's or carrier's code, optional.
//
// # Inbound texts: gateway → smsflow
//
//	POST {public_url}/webhooks/http/inbound
//	{"from": "+14155550100", "to": "12345", "body": "STOP", "id": "gw-in-9"}
//
// from and id are required: id dedupes a report the gateway sends again.
//
// Both webhooks answer 204 when stored; 400 for malformed JSON or a missing
// or invalid field (do not retry); 401 for a bad signature or timestamp; 413
// for a body over 64 KiB; 5xx when smsflow could not store it (retry later,
// with the same id). Error answers are JSON:
// {"error": {"code": "unauthorized", "message": "…"}}.
package httpgw
