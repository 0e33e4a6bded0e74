package smpp

import (
	"strings"
	"testing"
)

func TestParseReceiptText(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     ReceiptText
		wantErr  bool
	}{
		{
			name: "SMPP 3.4 Appendix B",
			in:   "id:0123456789 sub:001 dlvrd:001 submit date:2501311200 done date:2501311201 stat:DELIVRD err:000 text:Hello there",
			want: ReceiptText{ID: "0123456789", Sub: "001", Dlvrd: "001", SubmitDate: "2501311200", DoneDate: "2501311201", Stat: "DELIVRD", Err: "000", Text: "Hello there"},
		},
		{
			name: "other order, lower case, underscores, seconds in dates",
			in:   "stat:undeliv ID:ab12 err:012 submit_date:250131120059 Done_Date:250131120100",
			want: ReceiptText{ID: "ab12", SubmitDate: "250131120059", DoneDate: "250131120100", Stat: "UNDELIV", Err: "012"},
		},
		{
			name: "text may contain field names; they do not count",
			in:   "id:1 stat:DELIVRD err:000 text:stat:REJECTD id:2",
			want: ReceiptText{ID: "1", Stat: "DELIVRD", Err: "000", Text: "stat:REJECTD id:2"},
		},
		{
			name: "first of a repeated field wins, unknown tokens skipped",
			in:   "id:7 foo:bar stat:EXPIRED stat:DELIVRD x err:",
			want: ReceiptText{ID: "7", Stat: "EXPIRED"},
		},
		{
			name: "only an id (the TLVs may carry the rest)",
			in:   "id:42",
			want: ReceiptText{ID: "42"},
		},
		{name: "not a receipt", in: "Hello, are you open today?", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "a label with nothing after it", in: "text:", wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseReceiptText(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if !c.wantErr && got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// FuzzParseReceiptText: any input parses or fails without panicking, and a
// field value never contains a space (only text: may).
func FuzzParseReceiptText(f *testing.F) {
	for _, s := range []string{
		"id:0123456789 sub:001 dlvrd:001 submit date:2501311200 done date:2501311201 stat:DELIVRD err:000 text:Hello",
		"stat:UNDELIV id:1A2B err:012",
		"id: stat: text:",
		"submit date:", "done date:x", "\x00id:\xff\xfe stat:\x00",
		strings.Repeat("id:1 ", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReceiptText(s)
		if err != nil {
			return
		}
		for _, v := range []string{r.ID, r.Sub, r.Dlvrd, r.SubmitDate, r.DoneDate, r.Stat, r.Err} {
			if strings.ContainsAny(v, " \t\r\n\x00") {
				t.Errorf("field value %q contains a separator (input %q)", v, s)
			}
		}
		if !strings.HasSuffix(s, r.Text) {
			t.Errorf("text %q is not the end of the input %q", r.Text, s)
		}
	})
}
