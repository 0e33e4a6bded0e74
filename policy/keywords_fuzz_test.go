package policy

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzClassify feeds arbitrary inbound bodies: Classify never panics, a
// keyword match is a word of its set, Y/YES never counts unless pending,
// and matching ignores surrounding whitespace and ASCII case.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"STOP", " stop ", "Opt Out", "yes", "Y", "HELP!", "please stop texting me", "remove me from this list",
		"don't stop texting me", "\x00", "ſtop", "STOP 🛑", strings.Repeat("stop ", 50), "\xff\xfe",
		"ＳＴＯＰ", "ARRÊT", "arre\u0302t", "S\u200bTOP", "Wrong number. STOP", "stop stop stop", "cancel texts", "When does the sale end?",
		"Can I cancel my order?", "don't stop the deals", "a - b -", "-", "(", "...", "stop-", "\u0301"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	kw := DefaultKeywordConfig()
	words := map[KeywordKind][]string{}
	for _, set := range keywordTable {
		words[set.Kind] = append(words[set.Kind], set.Words...)
	}
	words[KeywordJoin] = DefaultJoin
	f.Fuzz(func(t *testing.T, body string, pending bool) {
		m := Classify(body, kw, pending)
		switch m.Kind {
		case KeywordNone:
			if m.Keyword != "" || m.Flagged {
				t.Fatalf("no match carries data: %+v", m)
			}
		case KeywordRevocation:
			if !m.Flagged || m.Keyword == "" {
				t.Fatalf("revocation not flagged or unnamed: %+v", m)
			}
		default:
			if m.Flagged || !containsWord(words[m.Kind], m.Keyword) {
				t.Fatalf("Classify(%q) = %+v: keyword not in its set", body, m)
			}
		}
		if m.Kind == KeywordConfirm && !pending {
			t.Fatalf("Classify(%q) confirmed while not pending", body)
		}
		if again := Classify(body, kw, pending); again != m {
			t.Fatalf("Classify(%q) is not deterministic: %+v then %+v", body, m, again)
		}
		if other := Classify(body, kw, !pending); other != m && m.Kind != KeywordConfirm && other.Kind != KeywordConfirm {
			t.Fatalf("pending changed more than Y/YES: Classify(%q) = %+v / %+v", body, m, other)
		}
		if isASCII(body) {
			alt := " \t" + swapCase(body) + "\n "
			if got := Classify(alt, kw, pending); got.Kind != m.Kind {
				t.Fatalf("Classify(%q) = %s but Classify(%q) = %s", body, m.Kind, alt, got.Kind)
			}
			// Full-width letters are the same letters (compatibility forms
			// are folded before matching).
			if wide := fullWidth(body); wide != body {
				if got := Classify(wide, kw, pending); got.Kind != m.Kind || got.Keyword != m.Keyword || got.Flagged != m.Flagged {
					t.Fatalf("Classify(%q) = %+v but Classify(%q) = %+v", body, m, wide, got)
				}
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// fullWidth writes printable ASCII in its full-width forms (U+FF01–U+FF5E)
// and spaces as ideographic spaces.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ':
			return '\u3000'
		case r > ' ' && r < 0x7f:
			return r - 0x21 + 0xff01
		}
		return r
	}, s)
}

func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}
