// Package segment parses Segment Tracking API payloads — the bodies that
// Segment, RudderStack, Jitsu and the official Segment libraries (analytics.js,
// analytics-node, analytics-go, …) send to /v1/track, /v1/identify, /v1/page,
// /v1/screen, /v1/alias, /v1/group and /v1/batch — into Messages.
//
// It is a pure function of the body, the route and the time of receipt: no
// HTTP, no storage, no clock. It applies the spec's rules (required ids,
// type, event name, messageId length, object-valued properties/traits/context,
// the 32 KB item limit — counted with the batch context merged in) and
// computes each message's timestamp the Segment way from timestamp,
// originalTimestamp and sentAt, refusing one that lands outside 1900–2099.
// Ids, event and page names and an Order Completed's order_id must be
// storable by both databases (smsflow.CheckID); numbers in properties,
// traits and context are json.Number, exact to the digit. Free text is left
// as sent: ingest cleans it (smsflow.CleanJSON). Phone numbers are extracted
// but not validated: the caller normalizes Message.Phone with the configured
// default region (package phone).
//
// Errors are *smsflow.Error with code invalid or too_large and the field at
// fault. A batch reports each invalid item separately (the first
// MaxListedErrors in BatchResult.Errors, all counted in Rejected) and keeps
// the others, since Segment clients drop a whole batch on a 400.
package segment
