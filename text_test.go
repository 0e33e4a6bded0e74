package smsflow

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestCheckID(t *testing.T) {
	for _, c := range []struct {
		name, id string
		max      int
		msg      string // "" when valid
	}{
		{"plain", "ana@example.com", 255, ""},
		{"empty", "", 255, ""},
		{"unicode at the limit", strings.Repeat("é", 255), 255, ""},
		{"NUL", "ana\x00x", 255, "contains the control character U+0000 (character 4)"},
		{"newline", "a\nb", 255, "U+000A"},
		{"tab", "a\tb", 255, "U+0009"},
		{"DEL", "a\x7f", 255, "U+007F"},
		{"C1", "a\u0085", 255, "U+0085"},
		{"invalid UTF-8", "a\xffb", 255, "is not valid UTF-8"},
		{"too long", strings.Repeat("x", 256), 255, "is 256 characters long; the limit is 255"},
		{"too long in characters, not bytes", strings.Repeat("é", 101), 100, "is 101 characters long; the limit is 100"},
	} {
		err := CheckID("userId", c.id, c.max)
		switch {
		case c.msg == "" && err != nil:
			t.Errorf("%s: CheckID = %v, want nil", c.name, err)
		case c.msg != "" && err == nil:
			t.Errorf("%s: CheckID = nil, want an error containing %q", c.name, c.msg)
		case c.msg != "" && (err.Code != EINVALID || err.Field != "userId" || !strings.Contains(err.Message, c.msg) || !strings.HasPrefix(err.Message, "userId ")):
			t.Errorf("%s: CheckID = %+v, want invalid userId containing %q", c.name, err, c.msg)
		}
	}
}

func TestCleanText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"STOP", "STOP"},
		{"STOP\x00", "STOP"},
		{"\x00S\x01T\x1bO\x7fP\u0085\u009f", "STOP"},
		{"line 1\r\nline 2\rline 3\nline 4", "line 1\nline 2\nline 3\nline 4"},
		{"a\tb", "a\tb"},
		{"ends with CR\r", "ends with CR\n"},
		{"bad \xff\xfe byte", "bad \ufffd\ufffd byte"},
		{"café ☕ 👍🏽 ＳＴＯＰ", "café ☕ 👍🏽 ＳＴＯＰ"},
		{"", ""},
	} {
		if got := CleanText(c.in); got != c.want {
			t.Errorf("CleanText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCleanJSON(t *testing.T) {
	var m map[string]any
	src := `{"first\u0000name":"A\u0000na","note":"a\tb\nc","nested":{"list":["x\u0000",1,{"k\u001b":"v\u0085"}]},
		"n":12345678901234567890,"dup":"clean","du\u0000p":"dirty","z\u0000z":"first","zz\u0001":"second"}`
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	CleanJSON(m)
	want := map[string]any{
		"firstname": "Ana", "note": "a\tb\nc",
		"nested": map[string]any{"list": []any{"x", json.Number("1"), map[string]any{"k": "v"}}},
		"n":      json.Number("12345678901234567890"),
		"dup":    "clean", // the key sent clean wins
		"zz":     "first", // of two dirty keys, the smaller as sent ("z\x00z" < "zz\x01")
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("CleanJSON gave\n%#v\nwant\n%#v", m, want)
	}
	CleanJSON(nil) // no panic
}

// FuzzCleanText: the result is valid UTF-8 without control characters
// other than newline and tab, cleaning twice changes nothing, and clean
// text is returned unchanged.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"STOP\x00", "STOP%00", "a\r\nb\rc", "\xff\xfe", "\u0085\u009f\u007f", "ok", "\ufffd", "é\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := CleanText(s)
		if !utf8.ValidString(out) {
			t.Fatalf("CleanText(%q) = %q, not valid UTF-8", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				t.Fatalf("CleanText(%q) = %q keeps %U", s, out, r)
			}
		}
		if again := CleanText(out); again != out {
			t.Fatalf("CleanText not idempotent: %q → %q → %q", s, out, again)
		}
		if CheckID("x", s, len(s)+1) == nil && out != s {
			t.Fatalf("CleanText changed %q, which is a valid identifier, into %q", s, out)
		}
	})
}

// FuzzCheckID: an accepted id is valid UTF-8, free of control characters
// and within the limit; a refused one says why with the field's name.
func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"ana", "a\x00", strings.Repeat("x", 300), "\xc0\xaf", "a\u0085"} {
		f.Add(s, uint8(255))
	}
	f.Fuzz(func(t *testing.T, s string, max uint8) {
		err := CheckID("id", s, int(max))
		if err != nil {
			if err.Code != EINVALID || err.Field != "id" || !strings.HasPrefix(err.Message, "id ") {
				t.Fatalf("CheckID(%q) = %+v", s, err)
			}
			return
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > int(max) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
			t.Fatalf("CheckID accepted %q (max %d)", s, max)
		}
	})
}
