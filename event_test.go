package smsflow

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestOrderDedupeKey(t *testing.T) {
	for _, c := range []struct {
		id   any
		want string
	}{
		{"1001", "order:1001"},
		{json.Number("1001"), "order:1001"},
		{float64(1001), "order:1001"},
		{int64(1001), "order:1001"},
		// Every digit of an integer above 2^53: these two are two orders.
		{json.Number("12345678901234567890"), "order:12345678901234567890"},
		{json.Number("12345678901234567891"), "order:12345678901234567891"},
		{json.Number("-42"), "order:-42"},
		// Other numbers are spelled as a float64 of the same value always was.
		{json.Number("1e3"), "order:1000"},
		{json.Number("1.50"), "order:1.5"},
		{"", ""},
		{nil, ""},
		{true, ""},
	} {
		if got := OrderDedupeKey(EventOrderCompleted, map[string]any{"order_id": c.id}); got != c.want {
			t.Errorf("OrderDedupeKey(%#v) = %q, want %q", c.id, got, c.want)
		}
	}
	if got := OrderDedupeKey("Checkout Started", map[string]any{"order_id": "1"}); got != "" {
		t.Errorf("a Checkout Started got the dedupe key %q", got)
	}
}

func TestCheckOrderID(t *testing.T) {
	for _, c := range []struct {
		id  any
		bad bool
	}{
		{"o-1", false},
		{json.Number("12345678901234567890"), false},
		{"o-1\x00", true},
		{strings.Repeat("9", 256), true},
		{json.Number(strings.Repeat("9", 256)), true},
	} {
		err := CheckOrderID(EventOrderCompleted, map[string]any{"order_id": c.id})
		if (err != nil) != c.bad || (err != nil && err.Field != "properties.order_id") {
			t.Errorf("CheckOrderID(%.20q…) = %v, want refused: %v", c.id, err, c.bad)
		}
	}
	if err := CheckOrderID("Product Viewed", map[string]any{"order_id": "o\x00"}); err != nil {
		t.Errorf("order_id of another event checked: %v", err)
	}
}
