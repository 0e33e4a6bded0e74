// Package testkit is the set-up that tests of several packages share: a
// clock moved by hand, a log captured for counting lines, a file saved as
// editors save, the ingest fixtures (a running writer, Segment-shaped
// items, inbound texts and what they leave in the database), and the real
// smsflow binary, built once and started as `serve` for the end-to-end and
// the browser tests (serve.go). Only tests import it: it is not compiled
// into the smsflow binary.
package testkit
