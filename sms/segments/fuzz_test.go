package segments

import (
	"strings"
	"testing"
)

func addSeeds(f *testing.F) {
	for _, s := range []string{
		"", "a", "€", "\r\n", "ç", "`", "😀", "👨‍👩‍👧‍👦", "🇮🇹🇦", "e\u0301", "\xff", "\xed\xa0\x80",
		strings.Repeat("a", 152) + "€" + strings.Repeat("b", 7),
		strings.Repeat("a", 66) + "😀" + strings.Repeat("b", 10),
		"ab" + "e" + strings.Repeat("\u0301", 66) + "cd",
		"“Hi” – it’s… \u00a0\ufeff",
		strings.Repeat("|", 81),
	} {
		f.Add(s)
	}
}

func FuzzMeasure(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body string) {
		info := Measure(body)
		if info.Encoding != GSM7 && info.Encoding != UCS2 {
			t.Fatalf("Measure(%+q).Encoding = %q", body, info.Encoding)
		}
		if info.NonGSM == nil {
			t.Fatalf("Measure(%+q).NonGSM is nil", body)
		}
		checkParts(t, body)
	})
}

func FuzzSplit(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body string) {
		parts := Split(body)
		if got := strings.Join(parts, ""); got != body {
			t.Fatalf("Split(%+q) joins to %+q", body, got)
		}
		// Splitting a part again never cuts it further: each part fits alone.
		encoding := Measure(body).Encoding
		for _, p := range parts {
			if got := len(Split(p)); got != 1 && encoding == Measure(p).Encoding {
				t.Fatalf("part %+q of %+q splits into %d", p, body, got)
			}
		}
		checkParts(t, body)
	})
}

func FuzzSmartEncode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body string) {
		checkSmartEncode(t, body)
		out, _ := SmartEncode(body)
		checkParts(t, out)
	})
}
