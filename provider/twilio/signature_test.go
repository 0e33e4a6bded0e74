package twilio

import (
	"net/url"
	"testing"
)

// The worked example of Twilio's request validation: auth token 12345, this
// URL and these POST parameters. The expected signatures below are the ones
// Twilio publishes (its security guide and the RequestValidator tests of
// twilio-go, twilio-csharp and twilio-php), not computed by this package.
const (
	docToken = "12345"
	docURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
)

// docParams returns the classic example's POST parameters with the caller
// number the example used: +14158675309 (twilio-go, twilio-csharp, the old
// guide) or +12349013030 (the current guide).
func docParams(caller string) url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {caller},
		"Digits":  {"1234"},
		"From":    {caller},
		"To":      {"+18005551212"},
	}
}

func TestSignMatchesTwilioPublishedExamples(t *testing.T) {
	for _, tc := range []struct{ caller, want string }{
		{"+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
	} {
		if got := Sign(docToken, docURL, docParams(tc.caller)); got != tc.want {
			t.Errorf("Sign(caller %s) = %q, want Twilio's %q", tc.caller, got, tc.want)
		}
		if !Verify(docToken, docURL, docParams(tc.caller), tc.want) {
			t.Errorf("Verify rejects Twilio's published signature %q", tc.want)
		}
	}
}

// TestVerifyURLVariants uses the URL vectors of twilio-csharp's and
// twilio-go's RequestValidator tests: the signature was made for one form
// of the URL (with or without a port, mixed case, credentials) and the
// validator is given another.
func TestVerifyURLVariants(t *testing.T) {
	params := docParams("+14158675309")
	for _, tc := range []struct {
		name, url, sig string
		want           bool
	}{
		{"signed with :443 added", docURL, "kvajT1Ptam85bY51eRf/AJRuM3w=", true},
		{"http signed with :80 added or as is", "http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4=", true},
		{"custom port signed with it", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", true},
		{"https custom port signed with it", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", "CYn1h0gLBdNxDGkKJg6hYohgeD8=", true},
		{"port given, signed without", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"mixed-case host kept as is", "https://MyCompany.com/myapp.php?foo=1&bar=2", "g9IN/x4Cft2g517EjYvEvM/W7LU=", true},
		{"mixed-case host with port", "https://MyCompany.com:1234/myapp.php?foo=1&bar=2", "PCqOZm8cnu/L6+u5i5fuEd+Iac4=", true},
		{"mixed-case http adds port", "http://MyCompany.com/myapp.php?foo=1&bar=2", "XY7AlKOKL6im4yWyX84gldUrtis=", true},
		{"credentials preserved", "http://username:password@MyCompany.com/myapp.php?foo=1&bar=2", "PJ08CxXr7KLPjEQCTc8LkUSMwSM=", true},
		{"upper-case scheme", "HTTP://username:password@MyCompany.com/myapp.php?foo=1&bar=2", "hy/l8pca+LFms4cvRdv8uiP6NGc=", true},
		{"mixed-case credentials", "http://Username:Password@MyCompany.com/myapp.php?foo=1&bar=2", "SkTSKyDJH9kUlhItI0slbgZ1UsI=", true},
		{"host case matters", "https://MyCompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"http is not https", "http://MyCompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"not a signature", docURL, "NOTRSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
	} {
		if got := Verify(docToken, tc.url, params, tc.sig); got != tc.want {
			t.Errorf("%s: Verify(%s, %s) = %v, want %v", tc.name, tc.url, tc.sig, got, tc.want)
		}
	}
}

func TestVerifyRejectsAnyChange(t *testing.T) {
	params := docParams("+14158675309")
	const sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	changed := func(f func(url.Values)) url.Values {
		v := url.Values{}
		for k, vs := range params {
			v[k] = append([]string(nil), vs...)
		}
		f(v)
		return v
	}
	for _, tc := range []struct {
		name, token, url string
		form             url.Values
		sig              string
	}{
		{"other token", "54321", docURL, params, sig},
		{"empty token", "", docURL, params, sig},
		{"other query", docToken, "https://mycompany.com/myapp.php?foo=1&bar=3", params, sig},
		{"param value", docToken, docURL, changed(func(v url.Values) { v.Set("Digits", "9999") }), sig},
		{"extra param", docToken, docURL, changed(func(v url.Values) { v.Set("Extra", "") }), sig},
		{"missing param", docToken, docURL, changed(func(v url.Values) { v.Del("Caller") }), sig},
		{"repeated param", docToken, docURL, changed(func(v url.Values) { v.Add("Digits", "1234") }), sig},
		{"empty signature", docToken, docURL, params, ""},
		{"truncated signature", docToken, docURL, params, sig[:len(sig)-1]},
		{"not base64", docToken, docURL, params, "!!!!"},
		{"base64url alphabet", docToken, docURL, params, "RSOYDt4T1cUTdK1PDd93_VVr8B8="},
	} {
		if Verify(tc.token, tc.url, tc.form, tc.sig) {
			t.Errorf("%s: Verify accepted it", tc.name)
		}
	}
}

func TestSignSortsByNameThenValue(t *testing.T) {
	// The signed string is spelled out here by hand, following Twilio's
	// description: URL, then name+value pairs sorted by name (byte order, so
	// upper case first), a repeated name's values sorted.
	form := url.Values{"b": {"2"}, "a": {"z", "y"}, "B": {"1"}, "ab": {""}}
	byHand := Sign(docToken, "https://x.example/h"+"B1"+"ay"+"az"+"ab"+"b2", nil)
	if got := Sign(docToken, "https://x.example/h", form); got != byHand {
		t.Fatalf("Sign = %s, want the signature of the hand-built string %s", got, byHand)
	}
	// Pairs sorted as whole strings ("ab" before "ay") would give another one.
	if other := Sign(docToken, "https://x.example/h"+"B1"+"ab"+"ay"+"az"+"b2", nil); other == byHand {
		t.Fatal("the two orders should sign differently")
	}
}
