package segments

import (
	"fmt"

	"github.com/smsflow/smsflow"
)

// gsm7Code maps a character of the basic alphabet to its septet.
var gsm7Code = func() map[rune]byte {
	m := make(map[rune]byte, len(gsm7Basic))
	for code, r := range gsm7Basic {
		if code != escape {
			m[r] = byte(code)
		}
	}
	return m
}()

// septetCost is SeptetCost for the code points up to the Greek capitals, the
// only range where the alphabet lives besides '€'; it spares Measure two map
// lookups per character.
var septetCost = func() (t [0x3AA]uint8) {
	for r := range gsm7Code {
		t[r] = 1
	}
	for r := range gsm7Extension {
		if r < rune(len(t)) {
			t[r] = 2
		}
	}
	return t
}()

// IsGSM7 reports whether r can be sent in the GSM 03.38 alphabet, from the
// basic set or the extension table.
func IsGSM7(r rune) bool {
	return SeptetCost(r) > 0
}

// SeptetCost is the number of septets r takes in GSM-7: 1 for the basic set,
// 2 for the extension table (escape + character), 0 when r is not GSM-7.
func SeptetCost(r rune) int {
	if r >= 0 && r < rune(len(septetCost)) {
		return int(septetCost[r])
	}
	if r == '€' {
		return 2
	}
	return 0
}

// EncodeGSM7 returns s as unpacked GSM 03.38 septets, one per byte, with
// extension characters as the escape septet 0x1B and their code: what an SMPP
// short_message carries with data_coding 0. A part from Split of a GSM-7
// message always encodes; any other character is an EINVALID error.
func EncodeGSM7(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	i := 0
	for _, r := range s {
		if c, ok := gsm7Code[r]; ok {
			out = append(out, c)
		} else if c, ok := gsm7Extension[r]; ok {
			out = append(out, escape, c)
		} else {
			return nil, fmt.Errorf("encode GSM-7: %w",
				smsflow.Errorf(smsflow.EINVALID, "character %q at position %d is not in the GSM-7 alphabet", r, i))
		}
		i++
	}
	return out, nil
}
