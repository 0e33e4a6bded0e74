package segments

import (
	"encoding/json"
	"unicode/utf8"
)

// Encoding names, as the reference and Twilio write them.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// Sizes from the reference: an SMS carries 140 octets; a part of a
// concatenated message gives 6 octets to the user data header.
const (
	segmentBits = 140 * 8
	headerBits  = 6 * 8
)

// Info is the measure of a body before it is queued: what it will cost and
// why.
type Info struct {
	// Encoding is GSM7 when every character is in the GSM 03.38 alphabet,
	// else UCS2 for the whole message.
	Encoding string `json:"encoding"`
	// Characters counts as Twilio's calculator does: septets for GSM-7 (an
	// extension character counts 2), graphemes for UCS-2 (an emoji, a flag or
	// a ZWJ family counts 1; CR LF counts 2).
	Characters int `json:"characters"`
	// Segments is the number of SMS parts billed and sent; an empty body is
	// one (empty) segment, as in the reference.
	Segments int `json:"segments"`
	// NonGSM lists, in order, each character that forces UCS-2; empty for
	// GSM-7.
	NonGSM []NonGSMChar `json:"non_gsm"`
}

// NonGSMChar is a character that is not in the GSM-7 alphabet, so a person
// can see what to change to get 160-character segments back.
type NonGSMChar struct {
	// Char is the grapheme as it is in the body; a byte of invalid UTF-8 is
	// reported as itself (JSON shows it as U+FFFD).
	Char string `json:"char"`
	// Index is the grapheme's 0-based position, in the units of
	// Info.Characters (graphemes, since the message is UCS-2).
	Index int `json:"index"`
}

// MarshalJSON writes a missing NonGSM list as [] rather than null, so a
// client can always iterate it.
func (i Info) MarshalJSON() ([]byte, error) {
	type plain Info
	if i.NonGSM == nil {
		i.NonGSM = []NonGSMChar{}
	}
	return json.Marshal(plain(i))
}

// Measure returns the encoding, character count, segment count and
// non-GSM characters of body, agreeing with Twilio's open-source
// message-segment-calculator (sms-segments-calculator 1.3.0, encoding
// "auto", no smart encoding). Each byte of invalid UTF-8 counts as U+FFFD.
func Measure(body string) Info {
	m := measure(body)
	info := Info{Encoding: m.encoding, Segments: len(m.parts), NonGSM: []NonGSMChar{}}
	if m.encoding == GSM7 {
		for _, g := range m.graphemes {
			info.Characters += SeptetCost(g.first)
		}
		return info
	}
	info.Characters = len(m.graphemes)
	for i, g := range m.graphemes {
		if !isGSM7Grapheme(g) {
			info.NonGSM = append(info.NonGSM, NonGSMChar{Char: body[g.start:g.end], Index: i})
		}
	}
	return info
}

// Split returns the text of each segment, cut where the reference cuts:
// never inside an escape pair, a surrogate pair or a grapheme. Joining the
// parts gives body back and len(Split(body)) == Measure(body).Segments. An
// empty body gives one empty part.
func Split(body string) []string {
	m := measure(body)
	parts := make([]string, len(m.parts))
	for i, p := range m.parts {
		parts[i] = body[p.start:p.end]
	}
	return parts
}

// isGSM7Grapheme is the reference's test: a grapheme of one UTF-16 code unit
// that is in the GSM-7 table.
func isGSM7Grapheme(g grapheme) bool {
	return g.units == 1 && g.first != utf8.RuneError && IsGSM7(g.first)
}

// encodingOf is the reference's choice: UCS-2 as soon as one grapheme is not
// a single GSM-7 character.
func encodingOf(gs []grapheme) string {
	for _, g := range gs {
		if !isGSM7Grapheme(g) {
			return UCS2
		}
	}
	return GSM7
}

// span is a byte range of the body.
type span struct{ start, end int }

type measurement struct {
	encoding  string
	graphemes []grapheme
	parts     []span
}

func measure(body string) measurement {
	gs := splitGraphemes(body)
	m := measurement{encoding: encodingOf(gs), graphemes: gs}
	bits := make([]int, len(gs)) // what each grapheme costs, as the reference's EncodedChar.sizeInBits
	for i, g := range gs {
		if m.encoding == GSM7 {
			bits[i] = 7 * SeptetCost(g.first)
		} else {
			bits[i] = 16 * g.units
		}
	}
	if segs, ok := referenceSegments(bits); ok {
		m.parts = make([]span, len(segs))
		for i, sg := range segs {
			if sg.lo < sg.hi { // else the one empty segment of an empty body
				m.parts[i] = span{gs[sg.lo].start, gs[sg.hi-1].end}
			}
		}
		return m
	}
	m.parts = packSegments(body, gs, bits)
	return m
}

// segment is a run of graphemes lo..hi-1 and its size in bits, header
// included.
type segment struct {
	lo, hi, bits int
	header       bool
}

// referenceSegments is SegmentedMessage._buildSegments of the reference,
// given what each grapheme costs: fill a 140-octet segment; when a grapheme
// does not fit, open a segment with a header, give the first segment its
// header too and move its last graphemes over until it fits again. ok is
// false when that leaves a segment over 140 octets (or empty), which the
// reference allows for graphemes too long to share a segment but no SMS can
// carry.
func referenceSegments(bits []int) (segs []segment, ok bool) {
	segs = []segment{{}}
	for i, b := range bits {
		if segmentBits-segs[len(segs)-1].bits < b {
			segs = append(segs, segment{lo: i, hi: i, bits: headerBits, header: true})
			prev, cur := &segs[len(segs)-2], &segs[len(segs)-1]
			if !prev.header {
				prev.header = true
				prev.bits += headerBits
				for prev.bits > segmentBits {
					prev.hi--
					prev.bits -= bits[prev.hi]
					cur.lo = prev.hi
					cur.bits += bits[prev.hi]
				}
			}
		}
		cur := &segs[len(segs)-1]
		cur.hi = i + 1
		cur.bits += b
	}
	for _, sg := range segs {
		if sg.bits > segmentBits || (sg.lo == sg.hi && len(bits) > 0) {
			return nil, false
		}
	}
	return segs, true
}

// packSegments is the fallback for bodies the reference would pack into an
// impossible segment: greedy parts of 134 octets (after the header), a
// grapheme moved whole to the next part when it does not fit there, and a
// grapheme longer than a whole part cut between code points (never inside a
// surrogate pair), filling each part. Only UCS-2 bodies with graphemes of
// dozens of code units (e.g. stacked combining marks) come here.
func packSegments(body string, gs []grapheme, bits []int) []span {
	const capacity = segmentBits - headerBits
	var parts []span
	free := 0
	add := func(start, end, b int) {
		if b > free || len(parts) == 0 {
			parts = append(parts, span{start, start})
			free = capacity
		}
		parts[len(parts)-1].end = end
		free -= b
	}
	for i, g := range gs {
		if bits[i] <= capacity {
			add(g.start, g.end, bits[i])
			continue
		}
		for o := g.start; o < g.end; {
			r, w := utf8.DecodeRuneInString(body[o:g.end])
			add(o, o+w, 16*utf16Units(r))
			o += w
		}
	}
	return parts
}
