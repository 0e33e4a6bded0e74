package policy

import "testing"

func TestApplyFooter(t *testing.T) {
	const footer = DefaultFooter
	tests := []struct {
		name, body, brand string
		want              string
		added             int
	}{
		{"complete body untouched", "Glow: 20% off today. Reply STOP to opt out.", "Glow", "Glow: 20% off today. Reply STOP to opt out.", 0},
		{"brand match is case-insensitive", "GLOW sale! Txt END to cancel", "Glow", "GLOW sale! Txt END to cancel", 0},
		{"missing opt-out gets the footer", "Glow: 20% off today.", "Glow", "Glow: 20% off today. Reply STOP to opt out.", 1},
		{"missing brand gets a prefix", "20% off today. Reply STOP to unsubscribe", "Glow", "Glow: 20% off today. Reply STOP to unsubscribe", 1},
		{"both missing", "20% off today!\n", "Glow", "Glow: 20% off today! Reply STOP to opt out.", 2},
		{"opt-out wording counts", "Glow deals. Opt-out anytime by texting us", "Glow", "Glow deals. Opt-out anytime by texting us", 0},
		{"stop inside a word is not opt-out language", "Glow: nonstop deals", "Glow", "Glow: nonstop deals Reply STOP to opt out.", 1},
		{"no brand configured", "Sale today", "", "Sale today Reply STOP to opt out.", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, added := ApplyFooter(tt.body, tt.brand, footer)
			if got != tt.want || len(added) != tt.added {
				t.Errorf("ApplyFooter(%q) = %q %v, want %q (%d additions)", tt.body, got, added, tt.want, tt.added)
			}
			// Applying twice changes nothing more: the result is compliant.
			if again, more := ApplyFooter(got, tt.brand, footer); again != got || len(more) != 0 {
				t.Errorf("second ApplyFooter changed %q to %q", got, again)
			}
		})
	}
}

func TestHasOptOutLanguage(t *testing.T) {
	for body, want := range map[string]bool{
		"Reply STOP to opt out":       true,
		"reply stop to end":           true,
		`Text "STOP" to quit`:         true,
		"Txt QUIT to stop":            true,
		"unsubscribe at glow.example": true,
		"Don't stop shopping!":        false,
		"Stop by our store this week": false,
		"Replying is free":            false,
	} {
		if got := HasOptOutLanguage(body); got != want {
			t.Errorf("HasOptOutLanguage(%q) = %v, want %v", body, got, want)
		}
	}
}
