// Package testkit is the set-up that tests of several packages share: a
// clock moved by hand, a log captured for counting lines, a file saved as
// editors save, and the ingest fixtures (a running writer, Segment-shaped
// items, inbound texts and what they leave in the database). Only tests
// import it: it is not compiled into the smsflow binary.
package testkit
