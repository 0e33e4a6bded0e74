package segments

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func rep(s string, n int) string { return strings.Repeat(s, n) }

// TestMeasureAndSplit works the reference's rules by hand: 140-octet
// segments, 6 octets of header per part, whole graphemes and escape pairs.
func TestMeasureAndSplit(t *testing.T) {
	family := "👨‍👩‍👧‍👦" // 11 UTF-16 code units, one character
	tests := []struct {
		name       string
		body       string
		encoding   string
		characters int
		parts      []string
		nonGSM     []NonGSMChar
	}{
		{"empty body is one empty GSM-7 segment", "", GSM7, 0, []string{""}, nil},
		{"one character", "a", GSM7, 1, []string{"a"}, nil},

		// GSM-7 boundaries: 160 in one, then 153 per part.
		{"160 GSM", rep("a", 160), GSM7, 160, []string{rep("a", 160)}, nil},
		{"161 GSM", rep("a", 161), GSM7, 161, []string{rep("a", 153), rep("a", 8)}, nil},
		{"306 GSM", rep("a", 306), GSM7, 306, []string{rep("a", 153), rep("a", 153)}, nil},
		{"307 GSM", rep("a", 307), GSM7, 307, []string{rep("a", 153), rep("a", 153), "a"}, nil},
		{"459 GSM", rep("a", 459), GSM7, 459, []string{rep("a", 153), rep("a", 153), rep("a", 153)}, nil},
		{"460 GSM", rep("a", 460), GSM7, 460, []string{rep("a", 153), rep("a", 153), rep("a", 153), "a"}, nil},

		// Extension characters cost 2 septets and are never cut from their escape.
		{"euro counts two", "€", GSM7, 2, []string{"€"}, nil},
		{"form feed is an extension character", "a\fb", GSM7, 4, []string{"a\fb"}, nil},
		{"all extension characters", "€[]{}^~\\|\f", GSM7, 20, []string{"€[]{}^~\\|\f"}, nil},
		{"152 + euro fits one segment", rep("a", 152) + "€", GSM7, 154, []string{rep("a", 152) + "€"}, nil},
		{"152 + euro + 7: the escape pair moves whole to segment 2", rep("a", 152) + "€" + rep("b", 7), GSM7, 161,
			[]string{rep("a", 152), "€" + rep("b", 7)}, nil},
		{"153 + [ + 10: bracket opens segment 2", rep("a", 153) + "[" + rep("b", 10), GSM7, 165,
			[]string{rep("a", 153), "[" + rep("b", 10)}, nil},
		{"159 + euro", rep("a", 159) + "€", GSM7, 161, []string{rep("a", 153), rep("a", 6) + "€"}, nil},
		{"158 + braces", rep("a", 158) + "{}", GSM7, 162, []string{rep("a", 153), rep("a", 5) + "{}"}, nil},
		{"80 pipes is 160 septets", rep("|", 80), GSM7, 160, []string{rep("|", 80)}, nil},
		{"81 pipes: 76 + 5, one septet unused", rep("|", 81), GSM7, 162, []string{rep("|", 76), rep("|", 5)}, nil},
		{"306 + caret: escape pair moves to part 3", rep("a", 305) + "^", GSM7, 307,
			[]string{rep("a", 153), rep("a", 152), "^"}, nil},

		// CR and LF are GSM-7 characters, one septet each.
		{"CRLF counts two", "a\r\nb", GSM7, 4, []string{"a\r\nb"}, nil},
		{"CRLF at the GSM edge", rep("a", 159) + "\r\n", GSM7, 161, []string{rep("a", 153), rep("a", 6) + "\r\n"}, nil},
		{"CRLF in UCS-2 counts two", "😀\r\n", UCS2, 3, []string{"😀\r\n"}, []NonGSMChar{{"😀", 0}}},

		// The alphabet: Ç is GSM-7, ç is not; backtick is not.
		{"capital C cedilla is GSM", "Ça va", GSM7, 5, []string{"Ça va"}, nil},
		{"lone ç forces UCS-2", "Hello ç", UCS2, 7, []string{"Hello ç"}, []NonGSMChar{{"ç", 6}}},
		{"backtick forces UCS-2", "x`y", UCS2, 3, []string{"x`y"}, []NonGSMChar{{"`", 1}}},
		{"GSM Greek and accents", "ΔΦΓΛΩΠΨΣΘΞ àèéìòù ÄÖÑÜäöñü ß¿¡§¤£¥", GSM7, 34, []string{"ΔΦΓΛΩΠΨΣΘΞ àèéìòù ÄÖÑÜäöñü ß¿¡§¤£¥"}, nil},
		{"extension char in UCS-2 is one character", "ç€", UCS2, 2, []string{"ç€"}, []NonGSMChar{{"ç", 0}}},

		// UCS-2 boundaries: 70 in one, then 67 per part.
		{"70 UCS-2", rep("ç", 70), UCS2, 70, []string{rep("ç", 70)}, nonGSMRun("ç", 70)},
		{"71 UCS-2", rep("ç", 71), UCS2, 71, []string{rep("ç", 67), rep("ç", 4)}, nonGSMRun("ç", 71)},
		{"134 UCS-2", rep("ç", 134), UCS2, 134, []string{rep("ç", 67), rep("ç", 67)}, nonGSMRun("ç", 134)},
		{"135 UCS-2", rep("ç", 135), UCS2, 135, []string{rep("ç", 67), rep("ç", 67), "ç"}, nonGSMRun("ç", 135)},
		{"201 UCS-2", rep("ç", 201), UCS2, 201, []string{rep("ç", 67), rep("ç", 67), rep("ç", 67)}, nonGSMRun("ç", 201)},
		{"202 UCS-2", rep("ç", 202), UCS2, 202, []string{rep("ç", 67), rep("ç", 67), rep("ç", 67), "ç"}, nonGSMRun("ç", 202)},

		// Surrogate pairs cost 2 units and are never split.
		{"68 + emoji is 70 units", rep("a", 68) + "😀", UCS2, 69, []string{rep("a", 68) + "😀"}, []NonGSMChar{{"😀", 68}}},
		{"69 + emoji is 71 units", rep("a", 69) + "😀", UCS2, 70, []string{rep("a", 67), "aa😀"}, []NonGSMChar{{"😀", 69}}},
		{"emoji at the 67-unit edge moves whole", rep("a", 66) + "😀" + rep("b", 10), UCS2, 77,
			[]string{rep("a", 66), "😀" + rep("b", 10)}, []NonGSMChar{{"😀", 66}}},
		{"emoji then GSM escapes in UCS-2 (one unit each)", "😀" + rep("]", 68), UCS2, 69, []string{"😀" + rep("]", 68)}, []NonGSMChar{{"😀", 0}}},
		{"emoji then 69 escapes", "😀" + rep("]", 69), UCS2, 70, []string{"😀" + rep("]", 65), rep("]", 4)}, []NonGSMChar{{"😀", 0}}},

		// Graphemes.
		{"ZWJ family is one character of 11 units", family, UCS2, 1, []string{family}, []NonGSMChar{{family, 0}}},
		{"ZWJ family is not split", rep("a", 60) + family, UCS2, 61, []string{rep("a", 60), family}, []NonGSMChar{{family, 60}}},
		{"flag is one character", "🇮🇹 ciao", UCS2, 6, []string{"🇮🇹 ciao"}, []NonGSMChar{{"🇮🇹", 0}}},
		{"flag at the edge", rep("a", 65) + "🇮🇹" + rep("b", 5), UCS2, 71, []string{rep("a", 65), "🇮🇹" + rep("b", 5)}, []NonGSMChar{{"🇮🇹", 65}}},
		{"rainbow flag (ZWJ, Unicode 10 glue)", "🏳️‍🌈", UCS2, 1, []string{"🏳️‍🌈"}, []NonGSMChar{{"🏳️‍🌈", 0}}},
		{"skin tone stays with its emoji", "Hi 👋🏽", UCS2, 4, []string{"Hi 👋🏽"}, []NonGSMChar{{"👋🏽", 3}}},
		{"combining sequence is one character", "cafe\u0301!", UCS2, 5, []string{"cafe\u0301!"}, []NonGSMChar{{"e\u0301", 3}}},
		{"GSM letter + combining marks is not GSM", "é́́", UCS2, 1, []string{"é́́"}, []NonGSMChar{{"é́́", 0}}},
		{"keycap", "1️⃣", UCS2, 1, []string{"1️⃣"}, []NonGSMChar{{"1️⃣", 0}}},

		// Invalid UTF-8: each bad byte is one U+FFFD, not GSM-7.
		{"invalid byte", "a\xffb", UCS2, 3, []string{"a\xffb"}, []NonGSMChar{{"\xff", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := Measure(tt.body)
			if got, want := info.Encoding, tt.encoding; got != want {
				t.Errorf("Encoding = %s, want %s", got, want)
			}
			if got, want := info.Characters, tt.characters; got != want {
				t.Errorf("Characters = %d, want %d", got, want)
			}
			if got, want := info.Segments, len(tt.parts); got != want {
				t.Errorf("Segments = %d, want %d", got, want)
			}
			if got, want := info.NonGSM, tt.nonGSM; !equalNonGSM(got, want) {
				t.Errorf("NonGSM = %+v, want %+v", got, want)
			}
			if got, want := Split(tt.body), tt.parts; !slices.Equal(got, want) {
				t.Errorf("Split = %d parts %+q, want %d %+q", len(got), got, len(want), want)
			}
			checkParts(t, tt.body)
		})
	}
}

func nonGSMRun(c string, n int) []NonGSMChar {
	out := make([]NonGSMChar, n)
	for i := range out {
		out[i] = NonGSMChar{Char: c, Index: i}
	}
	return out
}

// TestOversizedGrapheme covers what the reference cannot send: a grapheme
// longer than a part is cut between code points, and everything else stays
// whole.
func TestOversizedGrapheme(t *testing.T) {
	zalgo := "e" + rep("\u0301", 80) // one grapheme of 81 units
	tests := []struct {
		name  string
		body  string
		parts []string
	}{
		{"alone", zalgo, []string{"e" + rep("\u0301", 66), rep("\u0301", 14)}},
		{"between text", rep("b", 30) + zalgo + rep("c", 30),
			[]string{rep("b", 30) + "e" + rep("\u0301", 36), rep("\u0301", 44) + rep("c", 23), rep("c", 7)}},
		{"surrogates are never cut", "😀" + rep("\U000E0100", 40), // a variation selector outside the BMP
			[]string{"😀" + rep("\U000E0100", 32), rep("\U000E0100", 8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := Split(tt.body), tt.parts; !slices.Equal(got, want) {
				t.Errorf("Split = %+q, want %+q", got, want)
			}
			if got, want := Measure(tt.body).Segments, len(tt.parts); got != want {
				t.Errorf("Segments = %d, want %d", got, want)
			}
			checkParts(t, tt.body)
		})
	}
	// A long grapheme that fits in one part is moved whole, as in the reference.
	body := rep("a", 40) + "e" + rep("\u0301", 40)
	if got, want := Split(body), []string{rep("a", 40), "e" + rep("\u0301", 40)}; !slices.Equal(got, want) {
		t.Errorf("Split = %+q, want %+q", got, want)
	}
}

func TestInfoJSON(t *testing.T) {
	tests := []struct {
		info Info
		want string
	}{
		{Measure("hi"), `{"encoding":"GSM-7","characters":2,"segments":1,"non_gsm":[]}`},
		{Info{Encoding: GSM7}, `{"encoding":"GSM-7","characters":0,"segments":0,"non_gsm":[]}`},
		{Measure("ça"), `{"encoding":"UCS-2","characters":2,"segments":1,"non_gsm":[{"char":"ç","index":0}]}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.info)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", tt.info, err)
		}
		if got := string(b); got != tt.want {
			t.Errorf("Marshal(%+v) = %s, want %s", tt.info, got, tt.want)
		}
		var back Info
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if back.Encoding != tt.info.Encoding || back.Segments != tt.info.Segments || len(back.NonGSM) != len(tt.info.NonGSM) {
			t.Errorf("round trip of %s = %+v", b, back)
		}
	}
	// Pointer form marshals the same way.
	info := Measure("x")
	if b, _ := json.Marshal(&info); !strings.Contains(string(b), `"non_gsm":[]`) {
		t.Errorf("Marshal(&info) = %s", b)
	}
}
