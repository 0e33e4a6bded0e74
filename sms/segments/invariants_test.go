package segments

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// checkParts asserts what a sender relies on for any body: the parts join
// back to the body, their number is Measure's, each fits its segment, and a
// cut falls between graphemes unless a grapheme is longer than a whole part.
func checkParts(t *testing.T, body string) {
	t.Helper()
	info := Measure(body)
	parts := Split(body)
	if got, want := len(parts), info.Segments; got != want {
		t.Fatalf("%+q: %d parts, Measure says %d segments", body, got, want)
	}
	if got := strings.Join(parts, ""); got != body {
		t.Fatalf("%+q: parts join to %+q", body, got)
	}
	if info.Segments < 1 {
		t.Fatalf("%+q: %d segments", body, info.Segments)
	}
	single := len(parts) == 1
	for i, p := range parts {
		if p == "" && body != "" {
			t.Errorf("%+q: part %d is empty", body, i)
		}
		switch info.Encoding {
		case GSM7:
			septets := 0
			for _, r := range p {
				septets += SeptetCost(r)
			}
			if limit := limitFor(single, 160, 153); septets > limit {
				t.Errorf("%+q: GSM-7 part %d has %d septets, limit %d", body, i, septets, limit)
			}
			if _, err := EncodeGSM7(p); err != nil {
				t.Errorf("%+q: part %d: %v", body, i, err)
			}
		case UCS2:
			units := 0
			for _, r := range p {
				units += utf16Units(r)
			}
			if limit := limitFor(single, 70, 67); units > limit {
				t.Errorf("%+q: UCS-2 part %d has %d code units, limit %d", body, i, units, limit)
			}
		default:
			t.Fatalf("%+q: encoding %q", body, info.Encoding)
		}
	}
	// Cuts between graphemes.
	gs := splitGraphemes(body)
	boundary := map[int]bool{0: true, len(body): true}
	long := map[int]bool{} // byte offsets inside graphemes too long for a part
	for _, g := range gs {
		boundary[g.end] = true
		if g.units > 67 {
			for o := g.start + 1; o < g.end; o++ {
				long[o] = true
			}
		}
	}
	off := 0
	for i, p := range parts[:len(parts)-1] {
		off += len(p)
		if !boundary[off] && !long[off] {
			t.Errorf("%+q: part %d ends inside a grapheme at byte %d", body, i, off)
		}
	}
	if utf8.ValidString(body) { // a cut inside a code point would leave two invalid parts
		for i, p := range parts {
			if !utf8.ValidString(p) {
				t.Errorf("%+q: part %d is cut inside a code point", body, i)
			}
		}
	}
	// Characters and NonGSM.
	switch info.Encoding {
	case GSM7:
		septets := 0
		for _, r := range body {
			septets += SeptetCost(r)
		}
		if info.Characters != septets || len(info.NonGSM) != 0 {
			t.Errorf("%+q: GSM-7 with %d characters (want %d septets), NonGSM %+v", body, info.Characters, septets, info.NonGSM)
		}
	case UCS2:
		if info.Characters != len(gs) || len(info.NonGSM) == 0 {
			t.Errorf("%+q: UCS-2 with %d characters (want %d graphemes), NonGSM %+v", body, info.Characters, len(gs), info.NonGSM)
		}
		last := -1
		for _, c := range info.NonGSM {
			if c.Index <= last || c.Index >= info.Characters || c.Char == "" {
				t.Errorf("%+q: bad NonGSM entry %+v", body, c)
			}
			last = c.Index
		}
	}
}

func limitFor(single bool, one, many int) int {
	if single {
		return one
	}
	return many
}

// checkSmartEncode asserts SmartEncode's contract for any body.
func checkSmartEncode(t *testing.T, body string) {
	t.Helper()
	out, changed := SmartEncode(body)
	if !changed {
		if out != body {
			t.Fatalf("SmartEncode(%+q) = %+q, unchanged but different", body, out)
		}
		return
	}
	if out == body {
		t.Fatalf("SmartEncode(%+q) reports a change but returns the body", body)
	}
	if got := Measure(out).Encoding; got != GSM7 {
		t.Fatalf("SmartEncode(%+q) = %+q, which is %s", body, out, got)
	}
	if again, changedAgain := SmartEncode(out); changedAgain || again != out {
		t.Fatalf("SmartEncode is not idempotent on %+q: %+q", out, again)
	}
}
