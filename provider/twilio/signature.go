package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader is the header Twilio signs its webhook requests with.
const SignatureHeader = "X-Twilio-Signature"

// Sign computes Twilio's request signature: the full URL, then each POST
// parameter's name and value (no separators) in order of name (byte order;
// a repeated name's values in order too), HMAC-SHA1 keyed with the Auth
// Token, base64. It is what Twilio puts in X-Twilio-Signature.
func Sign(authToken, url string, form url.Values) string {
	return base64.StdEncoding.EncodeToString(mac(authToken, url, form))
}

// Verify reports whether signature is Twilio's signature of a request to
// url with the POST parameters form (query parameters are part of url, not
// form). Like Twilio's own validators (twilio-go, twilio-csharp) it also
// accepts the signature of the same URL with the scheme's default port
// added when it has none, or with its port removed, since Twilio is not
// consistent about ports. The comparison takes constant time.
func Verify(authToken, url string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(got) != sha1.Size {
		return false
	}
	ok := false
	for _, u := range urlVariants(url) {
		// Every variant is checked so timing does not say which one matched.
		if hmac.Equal(mac(authToken, u, form), got) {
			ok = true
		}
	}
	return ok
}

// mac is the raw HMAC-SHA1 of the signed string.
func mac(authToken, url string, form url.Values) []byte {
	h := hmac.New(sha1.New, []byte(authToken))
	h.Write([]byte(url))
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		values := append([]string(nil), form[name]...)
		sort.Strings(values)
		for _, v := range values {
			h.Write([]byte(name))
			h.Write([]byte(v))
		}
	}
	return h.Sum(nil)
}

// urlVariants returns raw as given and, for an http(s) URL, the same URL
// with its scheme's default port added (when it has no port) or with its
// port removed (when it has one). The rest of the URL is kept byte for byte:
// Twilio signs the URL exactly as configured, case and escapes included.
func urlVariants(raw string) []string {
	variants := []string{raw}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return variants
	}
	var port string
	switch strings.ToLower(scheme) {
	case "https":
		port = "443"
	case "http":
		port = "80"
	default:
		return variants
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hostport := "", authority
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, hostport = authority[:at+1], authority[at+1:]
	}
	host, hasPort := stripPort(hostport)
	switch {
	case host == "":
		return variants
	case !hasPort:
		variants = append(variants, scheme+"://"+userinfo+host+":"+port+tail)
	default:
		variants = append(variants, scheme+"://"+userinfo+host+tail)
	}
	return variants
}

// stripPort returns the host of "host:port" or "[v6]:port", and whether
// there was a port.
func stripPort(hostport string) (host string, hasPort bool) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.LastIndexByte(hostport, ']') > i {
		return hostport, false
	}
	return hostport[:i], true
}
