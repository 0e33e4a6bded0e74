package policy

import "testing"

// FuzzStateForNumber feeds it whatever may sit in a contact's phone field.
func FuzzStateForNumber(f *testing.F) {
	for _, s := range []string{"+13055550100", "+14155550100", "+442079460958", "+18005550100", "+1", "+", "", "+1 (415) 555-0100", "+999999999999999999", "+1415555010\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code := StateForNumber(s)
		if code == "" {
			return
		}
		if _, ok := stateCodes[code]; !ok {
			t.Fatalf("StateForNumber(%q) = %q, not a state code", s, code)
		}
	})
}
