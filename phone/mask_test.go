package phone

import (
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"+14155550100", "+1415***0100"},
		{"+442079460958", "+44207***0958"},
		{"+447400123456", "+44740***3456"},
		{"+4915112345678", "+49151***5678"},
		{"+5511987654321", "+55119***4321"},
		{"+80012345678", "+800123***5678"},
		{"+3531234567", "+353***67"},     // 7 national digits
		{"+49123456", "+49***56"},        // 6 national digits: last 2 only
		{"+4912345678", "+49123***5678"}, // 8 national digits: 3 + 4
		{"+491234567", "+49***67"},       // 7 national digits
		{"+491234", "+49***34"},          // 4 national digits
		{"+49123", "+49***"},             // 3 national digits: none
		{"+1", "***"},                    // not E.164 (too short)
		{"+9991234567", "+9991***4567"},  // unknown calling code: counted as 1 digit
		{"", ""},
		{"(415) 555-0100", "***00"},
		{"415555", "***55"},
		{"4155", "***"},
		{"john@example.com", "***"},
		{"+1415555010000000", "***00"}, // 16 digits is not E.164
		{"+01415550100", "***00"},
		{"\xff\xfe", "***"},
	}
	for _, tt := range tests {
		if got, want := Mask(tt.in), tt.want; got != want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, want)
		}
	}
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"+14155550100", "", "+1", "+", "+0", "+999", "abc", "+80012345678", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Mask(s)
		if s != "" && !strings.Contains(got, maskStars) {
			t.Fatalf("Mask(%q) = %q, hides nothing", s, got)
		}
		if len(s) > 8 && got == s {
			t.Fatalf("Mask(%q) returned its input", s)
		}
	})
}

// A sender's address is masked when it is a number, kept when it is a
// short code, an alphanumeric sender id or a Messaging Service SID.
func TestMaskSender(t *testing.T) {
	for in, want := range map[string]string{
		"+14155550100":                       "+1415***0100",
		" +14155550100 ":                     "+1415***0100",
		"55555":                              "55555",
		"GLOW":                               "GLOW",
		"MG0123456789abcdef0123456789abcdef": "MG0123456789abcdef0123456789abcdef",
		"":                                   "",
	} {
		if got := MaskSender(in); got != want {
			t.Errorf("MaskSender(%q) = %q, want %q", in, got, want)
		}
	}
}
