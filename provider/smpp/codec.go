package smpp

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/smsflow/smsflow/sms/segments"
)

// data_coding values we send and read (SMPP 3.4, data_coding).
const (
	codingDefault = 0x00 // SMSC default alphabet: GSM 03.38, unpacked
	codingIA5     = 0x01 // IA5 / ASCII
	codingBinary  = 0x02
	codingLatin1  = 0x03
	codingBinary2 = 0x04
	codingUCS2    = 0x08
)

// udhConcat8 is the information element of an 8-bit-reference
// concatenation header; udhConcat16 the 16-bit one.
const (
	udhConcat8  = 0x00
	udhConcat16 = 0x08
)

// outPart is one submit_sm's worth of a message.
type outPart struct {
	udh  []byte // nil for a message of one part
	data []byte // the encoded text of the part
}

// encodeBody measures body with sms/segments and returns its data_coding and
// parts: GSM-7 as unpacked septets (data_coding 0), anything else as
// UTF-16BE (data_coding 8). A body of more than one segment gets the
// concatenation UDH 05 00 03 ref total part on every part.
func encodeBody(body string, ref byte) (coding byte, parts []outPart, err error) {
	info := segments.Measure(body)
	texts := segments.Split(body)
	if len(texts) > 255 {
		return 0, nil, fmt.Errorf("the body needs %d segments; SMS concatenation allows at most 255", len(texts))
	}
	coding = codingUCS2
	if info.Encoding == segments.GSM7 {
		coding = codingDefault
	}
	for i, t := range texts {
		var p outPart
		if coding == codingDefault {
			if p.data, err = segments.EncodeGSM7(t); err != nil {
				return 0, nil, fmt.Errorf("encode segment %d as GSM-7: %w", i+1, err)
			}
		} else {
			p.data = encodeUCS2(t)
		}
		if len(texts) > 1 {
			p.udh = []byte{0x05, udhConcat8, 0x03, ref, byte(len(texts)), byte(i + 1)}
		}
		parts = append(parts, p)
	}
	return coding, parts, nil
}

// encodeUCS2 writes s as UTF-16BE; invalid UTF-8 becomes U+FFFD.
func encodeUCS2(s string) []byte {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.BigEndian.PutUint16(b[2*i:], u)
	}
	return b
}

// decodeText turns the bytes of a short message (UDH removed) into text.
// ok is false for binary data and for alphabets we do not read.
func decodeText(coding byte, b []byte) (text string, ok bool) {
	switch {
	case coding == codingDefault, coding&0xF4 == 0xF0: // GSM 03.38 (also message class groups 0xF0-0xF3)
		return decodeGSM7(b), true
	case coding == codingIA5:
		var sb strings.Builder
		for _, c := range b {
			if c < 0x80 {
				sb.WriteByte(c)
			} else {
				sb.WriteRune(utf8.RuneError)
			}
		}
		return sb.String(), true
	case coding == codingLatin1:
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return string(rs), true
	case coding == codingUCS2:
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = binary.BigEndian.Uint16(b[2*i:])
		}
		s := string(utf16.Decode(units))
		if len(b)%2 == 1 {
			s += string(utf8.RuneError)
		}
		return s, true
	}
	return "", false
}

// gsmDecode maps unpacked GSM 03.38 septets back to text: gsmBasic[s] for a
// septet s, gsmExt[s] after the escape 0x1B. It is built from
// segments.EncodeGSM7, so the alphabet lives in one place.
var gsmDecode = sync.OnceValues(func() (basic, ext [128]rune) {
	for r := rune(0); r <= 0x20AC; r++ { // € (U+20AC) is the highest GSM-7 character
		if !segments.IsGSM7(r) {
			continue
		}
		b, err := segments.EncodeGSM7(string(r))
		switch {
		case err != nil:
		case len(b) == 1 && b[0] < 128 && basic[b[0]] == 0:
			basic[b[0]] = r
		case len(b) == 2 && b[0] == 0x1B && b[1] < 128 && ext[b[1]] == 0:
			ext[b[1]] = r
		}
	}
	basic[0] = '@' // septet 0 is '@'; the zero value cannot say so
	return basic, ext
})

// decodeGSM7 decodes unpacked GSM 03.38 septets. A byte above 0x7F or an
// unknown escape gives U+FFFD; per 03.38 an escape before a code without an
// extension shows that code's basic character.
func decodeGSM7(b []byte) string {
	basic, ext := gsmDecode()
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 0x80:
			sb.WriteRune(utf8.RuneError)
		case c == 0x1B && i+1 < len(b) && b[i+1] < 0x80:
			i++
			if r := ext[b[i]]; r != 0 {
				sb.WriteRune(r)
			} else if r := basic[b[i]]; r != 0 || b[i] == 0 {
				sb.WriteRune(basic[b[i]])
			} else {
				sb.WriteRune(utf8.RuneError)
			}
		case c == 0x1B: // a lone escape at the end
			sb.WriteRune(utf8.RuneError)
		default:
			if r := basic[c]; r != 0 || c == 0 {
				sb.WriteRune(r)
			} else {
				sb.WriteRune(utf8.RuneError)
			}
		}
	}
	return sb.String()
}
