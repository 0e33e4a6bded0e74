package template

import "time"

// SampleScope returns realistic data for previews and validation renders: a
// contact Ana in Los Angeles who started a checkout at Glow. Every call
// returns fresh maps, so callers may change them. It reads no clock: Now is
// fixed, which keeps previews and tests deterministic.
func SampleScope() Scope {
	now := time.Date(2025, time.March, 14, 17, 30, 0, 0, time.UTC)
	event := map[string]any{
		"name":      "Checkout Started",
		"timestamp": now.Add(-time.Hour),
		"properties": map[string]any{
			"checkout_url":  "https://glow.example/checkouts/c1a2b3",
			"order_id":      "1001",
			"revenue":       49.5,
			"value":         49.5,
			"currency":      "USD",
			"discount_code": "GLOW10",
			"product_name":  "Vitamin C Serum",
			"product_url":   "https://glow.example/products/vitamin-c-serum",
			"products": []any{
				map[string]any{"name": "Vitamin C Serum", "price": 34.0, "quantity": 1.0},
				map[string]any{"name": "Daily Moisturizer", "price": 15.5, "quantity": 1.0},
			},
		},
	}
	return Scope{
		Contact: map[string]any{
			"id":       "user-1842",
			"phone":    "+14155550142",
			"timezone": "America/Los_Angeles",
			"traits": map[string]any{
				"first_name":  "Ana",
				"last_name":   "Silva",
				"email":       "ana@example.com",
				"city":        "Los Angeles",
				"visit_count": 3.0,
				"vip":         true,
			},
		},
		Event: event,
		Reply: map[string]any{"text": "YES"},
		Waited: map[string]any{
			"event": map[string]any{
				"name":       "Link Clicked",
				"properties": map[string]any{"url": "https://glow.example/checkouts/c1a2b3"},
			},
		},
		Brand: map[string]any{
			"name": "Glow",
			"help": "Glow Beauty: help at glow.example/help or 1-800-555-0100.",
		},
		Flow: map[string]any{"id": "cart-recovery", "name": "Cart recovery"},
		Now:  now,
	}
}
