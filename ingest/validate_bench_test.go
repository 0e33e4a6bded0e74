package ingest_test

import (
	"os"
	"testing"
	"time"

	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/ingest/segment"
)

// BenchmarkValidate measures Item.Validate (ids checked, strings cleaned)
// on an analytics.js track call (1.3 KB): the cost every ingested item
// now pays before its transaction.
func BenchmarkValidate(b *testing.B) {
	body, err := os.ReadFile("segment/testdata/analytics-js-track.json")
	if err != nil {
		b.Fatal(err)
	}
	msg, err := segment.ParseOne("track", body, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	it, err := ingest.FromSegment(msg, "US")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for range b.N {
		if err := it.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
