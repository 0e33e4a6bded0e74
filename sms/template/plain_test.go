package template

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestPlain(t *testing.T) {
	long := strings.Repeat("a", 150)
	url := "https://shop.example/checkouts/" + strings.Repeat("z", 300) + "?key=1"
	for _, tt := range []struct{ in, want string }{
		{"Ana", "Ana"},
		{"FedEx.\nVerify your card", "FedEx. Verify your card"},
		{"a\r\n\r\nb\tc\vd\fe\u0085f\u2028g\u2029h", "a b c d e f g h"},
		{"  \n padded \n ", "padded"},
		{"safe\u202egnp.exe", "safe gnp.exe"}, // right-to-left override
		{long, long[:PublicTextLimit]},
		{url, url}, // one URL is kept whole (its host is checked elsewhere)
		{"see " + url, ("see " + url)[:PublicTextLimit]},
		{strings.Repeat("👩‍👩‍👧", 101), strings.Repeat("👩‍👩‍👧", 100)}, // cut between characters
		{"é" + strings.Repeat("e\u0301", 100), "é" + strings.Repeat("e\u0301", 99)},
	} {
		if got := Plain(tt.in); got != tt.want {
			t.Errorf("Plain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlainValueCopies(t *testing.T) {
	in := map[string]any{"a": "x\ny", "n": 1.5, "list": []any{"p\nq", map[string]any{"deep": "r\ns"}}, "ok": true}
	out := PlainValue(in).(map[string]any)
	if out["a"] != "x y" || out["n"] != 1.5 || out["ok"] != true {
		t.Errorf("PlainValue = %v", out)
	}
	list := out["list"].([]any)
	if list[0] != "p q" || list[1].(map[string]any)["deep"] != "r s" {
		t.Errorf("nested values: %v", list)
	}
	if in["a"] != "x\ny" || in["list"].([]any)[0] != "p\nq" {
		t.Errorf("PlainValue changed its input: %v", in)
	}
}

// FuzzPlain: whatever a public caller sends, Plain gives one line of valid
// UTF-8 within the limits, and is stable (plain text stays as it is).
func FuzzPlain(f *testing.F) {
	for _, s := range []string{"", "Ana", "FedEx.\nVerify your card", "a\r\n\u2028b\u202ec", strings.Repeat("👩‍👩‍👧", 120),
		"https://evil.example/" + strings.Repeat("x", 2000), "\x00STOP\x00", "\xff\xfe", " \t\n "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Plain(s)
		if !utf8.ValidString(out) && utf8.ValidString(s) {
			t.Fatalf("Plain(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || bidiControl(r) {
				t.Fatalf("Plain(%q) = %q keeps %U", s, out, r)
			}
		}
		if n := utf8.RuneCountInString(out); n > PublicURLLimit*8 { // a character may be several runes
			t.Fatalf("Plain(%q) is %d runes long", s, n)
		}
		if again := Plain(out); again != out {
			t.Fatalf("Plain is not stable: %q → %q → %q", s, out, again)
		}
	})
}
