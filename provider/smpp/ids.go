package smpp

import (
	"strconv"
	"strings"
	"sync"
)

// NormalizeID is the form in which message ids are stored and compared: the
// id trimmed of spaces and NULs; when it is made only of hexadecimal digits
// (which includes decimal ones) it is also lower-cased and stripped of
// leading zeros ("0" stays "0"), since "00A1F" and "a1f" are the same id in
// every SMSC's eyes. Any other id (with letters past f, dashes …) is kept as
// it is: it is opaque and may be case-sensitive.
//
// NormalizeID alone does not relate a hex id to its decimal spelling; see
// idBook.resolve for that.
func NormalizeID(id string) string {
	id = strings.Trim(id, " \t\r\n\x00")
	if id == "" || !isHex(id) {
		return id
	}
	id = strings.ToLower(strings.TrimLeft(id, "0"))
	if id == "" {
		return "0"
	}
	return id
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// Base conversions a receipt id may need to match the submit_sm_resp id.
const (
	convNone   = iota
	convDecHex // the receipt says decimal, submit_sm_resp said hex
	convHexDec // the receipt says hex, submit_sm_resp said decimal
)

// idBook remembers the message ids submit_sm_resp gave us lately, so that a
// receipt's id can be matched to the one Send returned whatever base the
// SMSC wrote it in, and so that receipts for the second and later parts of a
// concatenated message are recognized.
//
// The rule (resolve): a receipt id R is tried, in this order, as
// NormalizeID(R), as R read in decimal and written in hex, and as R read in
// hex and written in decimal (the conversion that matched last time is tried
// first). The first form that is in the book wins, and its conversion is
// remembered. When none is (the book forgets after `keep` ids and on
// restart), the remembered conversion is applied, so an SMSC that answers in
// hex and reports in decimal keeps being understood.
type idBook struct {
	mu    sync.Mutex
	keep  int
	ids   map[string]idEntry
	order []string // insertion order, for forgetting the oldest
	conv  int      // last conversion that matched
}

// idEntry is what the book knows of a part's id: the ProviderID of its
// message (the first part's id) and its 0-based part number.
type idEntry struct {
	first string
	part  int
}

func newIDBook(keep int) *idBook {
	return &idBook{keep: keep, ids: make(map[string]idEntry)}
}

// add records a normalized part id.
func (b *idBook) add(id string, e idEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.ids[id]; !ok {
		b.order = append(b.order, id)
	}
	b.ids[id] = e
	for len(b.order) > b.keep {
		delete(b.ids, b.order[0])
		b.order = b.order[1:]
	}
	if cap(b.order) > 4*b.keep && len(b.order) < b.keep { // let the backing array go
		b.order = append([]string(nil), b.order...)
	}
}

// resolve returns the normalized id a receipt refers to and, when the book
// knows it, its entry.
func (b *idBook) resolve(raw string) (id string, e idEntry, known bool) {
	n := NormalizeID(raw)
	forms := [3]struct {
		id   string
		conv int
	}{{n, convNone}, {decToHex(n), convDecHex}, {hexToDec(n), convHexDec}}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conv != convNone { // try what matched last time first
		forms[0], forms[b.conv] = forms[b.conv], forms[0]
	}
	for _, f := range forms {
		if f.id == "" {
			continue
		}
		if e, ok := b.ids[f.id]; ok {
			b.conv = f.conv
			return f.id, e, true
		}
	}
	switch b.conv {
	case convDecHex:
		if h := decToHex(n); h != "" {
			return h, idEntry{}, false
		}
	case convHexDec:
		if d := hexToDec(n); d != "" {
			return d, idEntry{}, false
		}
	}
	return n, idEntry{}, false
}

// decToHex returns the decimal id s written in lower-case hex, "" when s is
// not a decimal number that fits 64 bits.
func decToHex(s string) string {
	if !allDigits(s) {
		return ""
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return ""
	}
	return strconv.FormatUint(v, 16)
}

// hexToDec returns the hex id s written in decimal, "" when s is not a hex
// number that fits 64 bits.
func hexToDec(s string) string {
	if !isHex(s) {
		return ""
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return ""
	}
	return strconv.FormatUint(v, 10)
}
