package httpgw

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow/provider"
)

const (
	testSecret = "s3cret-shared-with-the-gateway"
	testPublic = "https://sms.example.com"
	testTo     = "+14155550100"
)

// clock is the fixed "now" of these tests.
var clock = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newTestGateway(t testing.TB, gwURL string, client *http.Client) *Gateway {
	t.Helper()
	g, err := New(Config{URL: gwURL, Secret: testSecret, PublicURL: testPublic}, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.now = func() time.Time { return clock }
	return g
}

// gatewaySignature is how a gateway author would check a signature, written
// out here from the package comment rather than with this package's code.
func gatewaySignature(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts + "." + string(body)))
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

// events records what the webhooks hand over; fail makes them refuse.
type events struct {
	mu       sync.Mutex
	receipts []provider.Receipt
	inbound  []provider.Inbound
	fail     error
}

func (e *events) Receipt(_ context.Context, r provider.Receipt) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return e.fail
	}
	e.receipts = append(e.receipts, r)
	return nil
}

func (e *events) Inbound(_ context.Context, m provider.Inbound) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return e.fail
	}
	e.inbound = append(e.inbound, m)
	return nil
}

func (e *events) snapshot() ([]provider.Receipt, []provider.Inbound) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]provider.Receipt(nil), e.receipts...), append([]provider.Inbound(nil), e.inbound...)
}
