package httpgw

import (
	"regexp"
	"testing"
	"time"
)

func TestSignKnownVector(t *testing.T) {
	// Computed independently with:
	//   printf '%s' '1700000000.{"id":"gw-1","status":"delivered"}' | openssl dgst -sha256 -hmac whsec_test
	const want = "sha256=138a91d0ee3aec9d2136ccd89e63da502d8f88b2313676e069d6260d9ae4a9a6"
	if got := Sign("whsec_test", 1700000000, []byte(`{"id":"gw-1","status":"delivered"}`)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestSignFormat(t *testing.T) {
	shape := regexp.MustCompile(`^sha256=[0-9a-f]{64}$`)
	for _, body := range []string{"", "{}", "é\x00"} {
		if s := Sign("k", -1, []byte(body)); !shape.MatchString(s) {
			t.Errorf("Sign(%q) = %q, want sha256= and 64 lower-case hex digits", body, s)
		}
	}
}

func TestCheckSignature(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"id":"x","status":"sent"}`)
	for _, tc := range []struct {
		name     string
		ts       string
		sig      string
		body     []byte
		accepted bool
	}{
		{"right", "1700000000", Sign(testSecret, 1700000000, body), body, true},
		{"4m59s old", "1699999701", Sign(testSecret, 1699999701, body), body, true},
		{"5m old exactly", "1699999700", Sign(testSecret, 1699999700, body), body, true},
		{"5m1s old", "1699999699", Sign(testSecret, 1699999699, body), body, false},
		{"5m1s ahead", "1700000301", Sign(testSecret, 1700000301, body), body, false},
		{"other secret", "1700000000", Sign("other", 1700000000, body), body, false},
		{"other body", "1700000000", Sign(testSecret, 1700000000, body), []byte(`{"id":"y","status":"sent"}`), false},
		{"timestamp swapped after signing", "1700000001", Sign(testSecret, 1700000000, body), body, false},
		{"upper-case hex is still hex", "1700000000", "sha256=" + upper(Sign(testSecret, 1700000000, body)[7:]), body, true},
		{"no prefix", "1700000000", Sign(testSecret, 1700000000, body)[7:], body, false},
		{"sha1 prefix", "1700000000", "sha1=" + Sign(testSecret, 1700000000, body)[7:], body, false},
		{"short", "1700000000", Sign(testSecret, 1700000000, body)[:40], body, false},
		{"no timestamp", "", Sign(testSecret, 1700000000, body), body, false},
		{"timestamp in ms", "1700000000000", Sign(testSecret, 1700000000000, body), body, false},
		{"not a number", "yesterday", Sign(testSecret, 1700000000, body), body, false},
		{"far past, no overflow", "-9223372036854775808", Sign(testSecret, -9223372036854775808, body), body, false},
		{"no signature", "1700000000", "", body, false},
	} {
		why := checkSignature(testSecret, tc.ts, tc.sig, tc.body, now)
		if (why == "") != tc.accepted {
			t.Errorf("%s: checkSignature = %q, accepted want %v", tc.name, why, tc.accepted)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
