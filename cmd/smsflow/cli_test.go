package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestSegmentsCommand(t *testing.T) {
	for _, c := range []struct {
		args     []string
		stdin    string
		encoding string
		chars    int
		segs     int
		nonGSM   int
	}{
		{[]string{"Hello", "world"}, "", "GSM-7", 11, 1, 0},
		{nil, strings.Repeat("a", 161) + "\n", "GSM-7", 161, 2, 0},
		{[]string{"Price: 10€"}, "", "GSM-7", 11, 1, 0},
		{[]string{"Ça va? ç"}, "", "UCS-2", 8, 1, 1},
		{[]string{"--smart", "“Hi” – ok…"}, "", "GSM-7", 12, 1, 0},
	} {
		var out, errb bytes.Buffer
		stdin = strings.NewReader(c.stdin)
		code := run(context.Background(), append([]string{"segments"}, c.args...), &out, &errb)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errb.String())
		}
		var got struct {
			Encoding   string `json:"encoding"`
			Characters int    `json:"characters"`
			Segments   int    `json:"segments"`
			NonGSM     []any  `json:"non_gsm"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%v: output %q: %v", c.args, out.String(), err)
		}
		if got.Encoding != c.encoding || got.Characters != c.chars || got.Segments != c.segs || len(got.NonGSM) != c.nonGSM {
			t.Errorf("%v: got %+v, want %s %d chars %d segments %d non-GSM", c.args, got, c.encoding, c.chars, c.segs, c.nonGSM)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
