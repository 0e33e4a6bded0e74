package httpgw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// signaturePrefix names the algorithm in the signature header.
const signaturePrefix = "sha256="

// Sign returns the X-Smsflow-Signature value for body sent at ts (Unix
// seconds): "sha256=" + hex(HMAC-SHA256(secret, "<ts>.<body>")).
func Sign(secret string, ts int64, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// checkSignature verifies the two signing headers of a request against
// body at now. It returns "" when they are right, else what is wrong, in
// words for the gateway's author.
func checkSignature(secret, tsHeader, sigHeader string, body []byte, now time.Time) string {
	if tsHeader == "" || sigHeader == "" {
		return "missing " + TimestampHeader + " or " + SignatureHeader + " header; sign every request as the httpgw package documents"
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return TimestampHeader + " must be Unix seconds, like 1700000000"
	}
	skew := int64(MaxSkew / time.Second)
	if n := now.Unix(); ts < n-skew || ts > n+skew {
		return TimestampHeader + " is more than 5 minutes away from smsflow's clock; check the gateway's clock (NTP) and sign each request when sending it"
	}
	hexSig, ok := strings.CutPrefix(sigHeader, signaturePrefix)
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return SignatureHeader + " must be \"sha256=\" followed by 64 hex digits"
	}
	if !hmac.Equal(mac(secret, tsHeader, body), got) {
		return SignatureHeader + " does not match: sign timestamp + \".\" + the exact body bytes with the shared http.secret"
	}
	return ""
}
