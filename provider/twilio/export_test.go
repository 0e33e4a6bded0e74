package twilio

import "time"

// SetNow replaces the clock a Twilio reads Retry-After dates against, for
// the tests of package twilio_test.
func SetNow(tw *Twilio, now func() time.Time) { tw.now = now }
