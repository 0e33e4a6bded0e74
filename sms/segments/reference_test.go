package segments

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceRow is one body measured by Twilio's sms-segments-calculator 1.3.0
// (testdata/reference/gen_golden.js).
type referenceRow struct {
	Body          string  `json:"body"`
	Encoding      string  `json:"encoding"`
	Characters    int     `json:"characters"`
	Segments      int     `json:"segments"`
	Cuts          []int   `json:"cuts"` // code points in each segment
	NonGSM        [][]any `json:"non_gsm"`
	Overflow      bool    `json:"overflow"` // the reference made a segment over 140 octets
	Smart         *string `json:"smart"`    // nil: the same as Body
	SmartEncoding string  `json:"smart_encoding"`
}

func loadReference(t *testing.T, path string) []referenceRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read reference cases: %v", err)
	}
	var rows []referenceRow
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return rows
}

// TestReference holds Measure, Split and SmartEncode to the reference's own
// answers. Set SEGMENTS_REFERENCE_FILE to a larger generated file to run more.
func TestReference(t *testing.T) {
	rows := loadReference(t, "testdata/reference/golden.json")
	if len(rows) < 500 {
		t.Fatalf("only %d reference cases", len(rows))
	}
	if extra := os.Getenv("SEGMENTS_REFERENCE_FILE"); extra != "" {
		rows = append(rows, loadReference(t, extra)...)
	}
	overflows := 0
	for n, row := range rows {
		info := Measure(row.Body)
		if info.Encoding != row.Encoding || info.Characters != row.Characters {
			t.Errorf("case %d %+q: encoding %s, %d characters; reference %s, %d",
				n, row.Body, info.Encoding, info.Characters, row.Encoding, row.Characters)
		}
		var wantNonGSM []NonGSMChar
		for _, c := range row.NonGSM {
			wantNonGSM = append(wantNonGSM, NonGSMChar{Char: c[0].(string), Index: int(c[1].(float64))})
		}
		if !equalNonGSM(info.NonGSM, wantNonGSM) {
			t.Errorf("case %d %+q: NonGSM %+v, reference %+v", n, row.Body, info.NonGSM, wantNonGSM)
		}
		parts := Split(row.Body)
		if row.Overflow {
			// The reference packs this body into a segment no SMS can carry;
			// we pack it physically instead (checked by checkParts).
			overflows++
			checkParts(t, row.Body)
		} else {
			var cuts []int
			for _, p := range parts {
				cuts = append(cuts, utf8.RuneCountInString(p))
			}
			if info.Segments != row.Segments || !equalInts(cuts, row.Cuts) {
				t.Errorf("case %d %+q: %d segments cut %v; reference %d cut %v",
					n, row.Body, info.Segments, cuts, row.Segments, row.Cuts)
			}
		}
		if strings.ContainsFunc(row.Body, smartDiffersFromReference) {
			continue
		}
		out, changed := SmartEncode(row.Body)
		wantOut, wantChanged := row.Body, false
		if row.SmartEncoding == GSM7 && row.Smart != nil {
			wantOut, wantChanged = *row.Smart, *row.Smart != row.Body
		}
		if out != wantOut || changed != wantChanged {
			t.Errorf("case %d SmartEncode(%+q) = %+q, %v; want %+q, %v", n, row.Body, out, changed, wantOut, wantChanged)
		}
	}
	if overflows == 0 || overflows > len(rows)/20 {
		t.Errorf("%d of %d cases overflow in the reference; the generator should make a few", overflows, len(rows))
	}
}

// smartDiffersFromReference reports the characters our replacement table
// treats differently from the reference's ([our rule] entries in tables.go).
func smartDiffersFromReference(r rune) bool {
	switch r {
	case 0x00A0, 0x2000, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
		0x202F, 0x205F, 0x3000, 0x008D, 0x009F, 0x0080, 0x0090, 0x009B, 0x200D:
		return true
	}
	return false
}

func equalNonGSM(a, b []NonGSMChar) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
