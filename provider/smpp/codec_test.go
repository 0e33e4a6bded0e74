package smpp

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smsflow/smsflow/sms/segments"
)

// Every GSM-7 character survives encoding (sms/segments) and decoding (here).
func TestGSM7RoundTrip(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r <= 0x20AC; r++ {
		if segments.IsGSM7(r) {
			all.WriteRune(r)
		}
	}
	body := all.String()
	if n := utf8.RuneCountInString(body); n < 137 { // 127 basic + 10 extension
		t.Fatalf("only %d GSM-7 characters found", n)
	}
	b, err := segments.EncodeGSM7(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeGSM7(b); got != body {
		t.Errorf("round trip differs:\n got %q\nwant %q", got, body)
	}
}

func TestDecodeText(t *testing.T) {
	for _, c := range []struct {
		name   string
		coding byte
		in     []byte
		want   string
		ok     bool
	}{
		{"GSM-7 with escape", codingDefault, []byte{0x48, 0x69, 0x1B, 0x65, 0x00}, "Hi€@", true},
		{"GSM-7 escape without extension shows the base", codingDefault, []byte{0x1B, 0x41}, "A", true},
		{"GSM-7 lone escape, high byte", codingDefault, []byte{0x41, 0x80, 0x1B}, "A\uFFFD\uFFFD", true},
		{"IA5", codingIA5, []byte("STOP"), "STOP", true},
		{"Latin-1", codingLatin1, []byte{0x63, 0x61, 0x66, 0xE9}, "café", true},
		{"UCS-2 with a surrogate pair", codingUCS2, []byte{0x00, 0x48, 0xD8, 0x3D, 0xDE, 0x00}, "H😀", true},
		{"UCS-2 odd length", codingUCS2, []byte{0x00, 0x48, 0x00}, "H\uFFFD", true},
		{"binary", codingBinary2, []byte{1, 2, 3}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := decodeText(c.coding, c.in)
			if got != c.want || ok != c.ok {
				t.Errorf("decodeText(%#x, % x) = %q, %v; want %q, %v", c.coding, c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestEncodeBody(t *testing.T) {
	for _, body := range []string{
		"short",
		strings.Repeat("b", 160),
		strings.Repeat("b", 161),
		strings.Repeat("[", 80) + "x",
		"Ünïcödé ✓ " + strings.Repeat("é", 60),
		strings.Repeat("👍🏽", 40),
	} {
		info := segments.Measure(body)
		coding, parts, err := encodeBody(body, 0x42)
		if err != nil {
			t.Fatalf("%q: %v", clip(body, 20), err)
		}
		if len(parts) != info.Segments {
			t.Errorf("%q: %d parts, Measure says %d segments", clip(body, 20), len(parts), info.Segments)
		}
		wantCoding := byte(codingUCS2)
		if info.Encoding == segments.GSM7 {
			wantCoding = codingDefault
		}
		if coding != wantCoding {
			t.Errorf("%q: data_coding %d, want %d", clip(body, 20), coding, wantCoding)
		}
		var joined []byte
		for i, p := range parts {
			if len(parts) == 1 && p.udh != nil {
				t.Errorf("single part has a UDH")
			}
			if len(parts) > 1 && !bytes.Equal(p.udh, []byte{5, 0, 3, 0x42, byte(len(parts)), byte(i + 1)}) {
				t.Errorf("part %d UDH % x", i+1, p.udh)
			}
			if len(p.udh)+len(p.data) > 140+20 { // septets are a byte each: at most 6+153 or 160
				t.Errorf("part %d is %d bytes", i+1, len(p.udh)+len(p.data))
			}
			if coding == codingUCS2 && len(p.udh)+len(p.data) > 140 {
				t.Errorf("UCS-2 part %d is %d octets, over 140", i+1, len(p.udh)+len(p.data))
			}
			joined = append(joined, p.data...)
		}
		if got, _ := decodeText(coding, joined); got != body {
			t.Errorf("decoded parts %q, want %q", got, body)
		}
	}
}

func FuzzDecodeText(f *testing.F) {
	f.Add(byte(0), []byte{0x1B, 0x65, 0x41})
	f.Add(byte(8), []byte{0xD8, 0x3D})
	f.Add(byte(0xF1), []byte{0x7F, 0x80})
	f.Fuzz(func(t *testing.T, coding byte, b []byte) {
		s, ok := decodeText(coding, b)
		if ok && !utf8.ValidString(s) {
			t.Errorf("decodeText(%#x, % x) gave invalid UTF-8 %q", coding, b, s)
		}
	})
}
