// Package segments measures an SMS body before it is queued: which encoding
// it needs (GSM-7 or UCS-2), how many characters and segments it costs, which
// characters force UCS-2, and where a sender must cut it into parts.
//
// The rules are those of Twilio's open-source message-segment-calculator
// (npm sms-segments-calculator 1.3.0), so our counts agree with what Twilio
// bills:
//
//   - A message is GSM-7 only if every grapheme is a single character of the
//     GSM 03.38 basic set (1 septet) or extension table (escape + character,
//     2 septets); one other character makes the whole message UCS-2, where
//     every UTF-16 code unit costs 16 bits.
//   - One segment carries 140 octets: 160 septets or 70 code units. In a
//     concatenated message each part gives 6 octets to the header: 153
//     septets or 67 code units.
//   - A grapheme (an emoji with its modifiers, a ZWJ sequence, a flag, a
//     letter with combining marks), and so a surrogate pair or an escape
//     pair, is never cut across two segments. Graphemes are found with the
//     rules of grapheme-splitter 1.0.4, the splitter the reference uses.
//
// Where the reference would build a segment no SMS can carry (a single
// grapheme of dozens of code units), the body is packed greedily and that
// grapheme is cut between code points instead; see packSegments.
//
// The alphabets and the Smart Encoding replacements are data in tables.go.
package segments
