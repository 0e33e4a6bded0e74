package segments

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smsflow/smsflow"
)

func TestGSM7Tables(t *testing.T) {
	if got, want := len(gsm7Code), 127; got != want {
		t.Errorf("basic set has %d characters, want %d (128 codes less the escape)", got, want)
	}
	if got, want := len(gsm7Extension), 10; got != want {
		t.Errorf("extension table has %d characters, want %d", got, want)
	}
	for r := range gsm7Extension {
		if _, ok := gsm7Code[r]; ok {
			t.Errorf("%q is in both the basic set and the extension table", r)
		}
	}
	// The basic set beyond ASCII.
	for _, r := range "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà@$_\n\r" {
		if got, want := SeptetCost(r), 1; got != want {
			t.Errorf("SeptetCost(%q) = %d, want %d", r, got, want)
		}
	}
	for r := rune(0x20); r < 0x7F; r++ {
		want := 1
		switch r {
		case '`':
			want = 0
		case '^', '{', '}', '\\', '[', '~', ']', '|':
			want = 2
		}
		if got := SeptetCost(r); got != want {
			t.Errorf("SeptetCost(%q) = %d, want %d", r, got, want)
		}
	}
}

func TestSeptetCostAndIsGSM7(t *testing.T) {
	tests := []struct {
		r    rune
		cost int
	}{
		{'a', 1}, {'@', 1}, {'Ç', 1}, {'ç', 0}, {'€', 2}, {'\f', 2}, {'|', 2}, {'`', 0}, {'\t', 0},
		{0x1B, 0}, {'😀', 0}, {0xFFFD, 0}, {-1, 0}, {'é', 1}, {'É', 1}, {'Ê', 0},
	}
	for _, tt := range tests {
		if got, want := SeptetCost(tt.r), tt.cost; got != want {
			t.Errorf("SeptetCost(%q) = %d, want %d", tt.r, got, want)
		}
		if got, want := IsGSM7(tt.r), tt.cost > 0; got != want {
			t.Errorf("IsGSM7(%q) = %v, want %v", tt.r, got, want)
		}
	}
}

func TestEncodeGSM7(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
	}{
		{"", []byte{}},
		{"Hi @$_", []byte{'H', 'i', ' ', 0x00, 0x02, 0x11}},
		{"€[\f", []byte{0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x0A}},
		{"Çà\r\n", []byte{0x09, 0x7F, 0x0D, 0x0A}},
	}
	for _, tt := range tests {
		got, err := EncodeGSM7(tt.in)
		if err != nil {
			t.Fatalf("EncodeGSM7(%q): %v", tt.in, err)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("EncodeGSM7(%q) = % x, want % x", tt.in, got, tt.want)
		}
	}
	_, err := EncodeGSM7("ok ç")
	var e *smsflow.Error
	if !errors.As(err, &e) || e.Code != smsflow.EINVALID {
		t.Fatalf("EncodeGSM7(non-GSM) error = %v, want an EINVALID *smsflow.Error", err)
	}
	if got, want := smsflow.ErrorMessage(err), `character 'ç' at position 3 is not in the GSM-7 alphabet`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// Every basic-set septet round-trips.
	for code, r := range gsm7Basic {
		if code == escape {
			continue
		}
		got, err := EncodeGSM7(string(r))
		if err != nil || len(got) != 1 || int(got[0]) != code {
			t.Errorf("EncodeGSM7(%q) = % x, %v; want %02x", r, got, err, code)
		}
	}
}

// TestSeptetCostTable holds the fast lookup to the tables it is built from.
func TestSeptetCostTable(t *testing.T) {
	for r := rune(-2); r <= 0x10FFFF+1; r++ {
		want := 0
		if _, ok := gsm7Code[r]; ok {
			want = 1
		} else if _, ok := gsm7Extension[r]; ok {
			want = 2
		}
		if got := SeptetCost(r); got != want {
			t.Fatalf("SeptetCost(%U) = %d, tables say %d", r, got, want)
		}
	}
}
