package phone

import (
	"strings"
	"testing"
)

func TestValidTimezone(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"America/New_York", true},
		{"Europe/London", true},
		{"Asia/Kolkata", true},
		{"Asia/Calcutta", true}, // legacy link the phone library still uses
		{"America/Argentina/ComodRivadavia", true},
		{"UTC", true},
		{"Etc/GMT+5", true},
		{"", false},
		{"Local", false},
		{"Etc/Unknown", false},
		{"Mars/Olympus_Mons", false},
		{"America/New York", false},
		{"../etc/passwd", false},
		{"/usr/share/zoneinfo/UTC", false},
		{"EST5EDT,M3.2.0,M11.1.0", false},
		{strings.Repeat("A", 100), false},
		{"America/New_York\x00", false},
	}
	for _, tt := range tests {
		// Twice: the second answer comes from the cache for valid names.
		for range 2 {
			if got, want := ValidTimezone(tt.name), tt.want; got != want {
				t.Errorf("ValidTimezone(%q) = %v, want %v", tt.name, got, want)
			}
		}
	}
}

func FuzzValidTimezone(f *testing.F) {
	for _, s := range []string{"America/New_York", "", "Local", "UTC", "..", "/", "Etc/GMT-14", "a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidTimezone(name) && (name == "" || name == "Local") {
			t.Fatalf("ValidTimezone(%q) = true", name)
		}
	})
}
