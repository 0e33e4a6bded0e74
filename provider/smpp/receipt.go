package smpp

import (
	"fmt"
	"strings"
)

// ReceiptText is the parsed text of an SMPP delivery receipt (SMPP 3.4
// Appendix B): "id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done
// date:YYMMDDhhmm stat:DDDDDDD err:E text:...". Fields that were missing are
// empty.
type ReceiptText struct {
	ID         string
	Sub        string
	Dlvrd      string
	SubmitDate string
	DoneDate   string
	Stat       string // upper-cased
	Err        string
	Text       string
}

// receiptLabels are the field labels of a receipt, longest first where one
// is a prefix of another. Matching ignores case; "submit_date:" and
// "done_date:" are spellings seen in the wild.
var receiptLabels = []struct{ label, field string }{
	{"submit date:", "submit date"},
	{"submit_date:", "submit date"},
	{"done date:", "done date"},
	{"done_date:", "done date"},
	{"id:", "id"},
	{"sub:", "sub"},
	{"dlvrd:", "dlvrd"},
	{"stat:", "stat"},
	{"err:", "err"},
}

// ParseReceiptText parses the text of a delivery receipt. Fields may come in
// any order; unknown "key:value" tokens are skipped; "text:" takes the rest
// of the string (it is the start of the original message and may contain
// anything). When a field appears twice the first one counts. It fails only
// when neither an id nor a stat is present, so a caller can still use the
// receipted_message_id and message_state TLVs. It never panics.
func ParseReceiptText(s string) (ReceiptText, error) {
	var r ReceiptText
	seen := map[string]bool{}
	set := func(field, v string) {
		if seen[field] {
			return
		}
		seen[field] = true
		switch field {
		case "id":
			r.ID = v
		case "sub":
			r.Sub = v
		case "dlvrd":
			r.Dlvrd = v
		case "submit date":
			r.SubmitDate = v
		case "done date":
			r.DoneDate = v
		case "stat":
			r.Stat = strings.ToUpper(v)
		case "err":
			r.Err = v
		}
	}
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		rest := s[i:]
		if hasPrefixFold(rest, "text:") {
			r.Text = rest[len("text:"):]
			seen["text"] = true
			break
		}
		matched := false
		for _, l := range receiptLabels {
			if hasPrefixFold(rest, l.label) {
				j := i + len(l.label)
				k := j
				for k < len(s) && !isSpace(s[k]) {
					k++
				}
				set(l.field, s[j:k])
				i = k
				matched = true
				break
			}
		}
		if !matched { // an unknown token: skip it
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
		}
	}
	if !seen["id"] && !seen["stat"] {
		return r, fmt.Errorf("not a delivery receipt: no id: and no stat: field in %q", clip(s, 80))
	}
	return r, nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == 0 }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// clip shortens s for an error message or a log line.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
