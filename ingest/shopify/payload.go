package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// shopifyString is a scalar Shopify field read as text: strings as they
// are, numbers by their literal (ids exceed float64's precision), booleans
// as "true"/"false", null as "". Objects and arrays where a scalar was
// expected are ignored rather than refused: Shopify adds and reshapes
// fields across API versions.
type shopifyString string

func (s *shopifyString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null" || b[0] == '{' || b[0] == '[':
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = shopifyString(clipText(v))
	default:
		*s = shopifyString(clipText(string(b)))
	}
	return nil
}

// clipText bounds a text field: a webhook is signed by the shop, but one
// field must not turn into megabytes of properties.
func clipText(s string) string {
	if len(s) > maxShopifyStringPayload {
		return s[:maxShopifyStringPayload]
	}
	return s
}

func (s shopifyString) String() string { return strings.TrimSpace(string(s)) }

// number parses a money amount or quantity ("199.00", 2); ok=false when
// the field is absent or not a number.
func (s shopifyString) number() (float64, bool) {
	f, err := strconv.ParseFloat(s.String(), 64)
	if err != nil || f != f || f > 1e15 || f < -1e15 { // NaN, absurd values
		return 0, false
	}
	return f, true
}

// time parses an ISO 8601 timestamp; zero when absent or unreadable.
func (s shopifyString) time() time.Time {
	v := s.String()
	if v == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

type shopifySMSConsent struct {
	State                shopifyString `json:"state"`
	OptInLevel           shopifyString `json:"opt_in_level"`
	ConsentUpdatedAt     shopifyString `json:"consent_updated_at"`
	ConsentCollectedFrom shopifyString `json:"consent_collected_from"`
}

type shopifyAddress struct {
	FirstName   shopifyString `json:"first_name"`
	LastName    shopifyString `json:"last_name"`
	Phone       shopifyString `json:"phone"`
	CountryCode shopifyString `json:"country_code"`
}

type shopifyCustomer struct {
	ID                  shopifyString      `json:"id"`
	Email               shopifyString      `json:"email"`
	FirstName           shopifyString      `json:"first_name"`
	LastName            shopifyString      `json:"last_name"`
	Phone               shopifyString      `json:"phone"`
	UpdatedAt           shopifyString      `json:"updated_at"`
	CreatedAt           shopifyString      `json:"created_at"`
	SMSMarketingConsent *shopifySMSConsent `json:"sms_marketing_consent"`
	DefaultAddress      *shopifyAddress    `json:"default_address"`
}

type shopifyLineItem struct {
	ID           shopifyString `json:"id"`
	ProductID    shopifyString `json:"product_id"`
	VariantID    shopifyString `json:"variant_id"`
	SKU          shopifyString `json:"sku"`
	Title        shopifyString `json:"title"`
	Name         shopifyString `json:"name"`
	VariantTitle shopifyString `json:"variant_title"`
	Vendor       shopifyString `json:"vendor"`
	Price        shopifyString `json:"price"`
	Quantity     shopifyString `json:"quantity"`
}

// shopifyOrder is an order or a checkout: the two share most fields.
type shopifyOrder struct {
	ID                   shopifyString `json:"id"`
	Name                 shopifyString `json:"name"`
	OrderNumber          shopifyString `json:"order_number"`
	Token                shopifyString `json:"token"`
	CartToken            shopifyString `json:"cart_token"`
	CheckoutToken        shopifyString `json:"checkout_token"`
	CheckoutID           shopifyString `json:"checkout_id"`
	Email                shopifyString `json:"email"`
	Phone                shopifyString `json:"phone"`
	SMSMarketingPhone    shopifyString `json:"sms_marketing_phone"`
	Currency             shopifyString `json:"currency"`
	TotalPrice           shopifyString `json:"total_price"`
	SubtotalPrice        shopifyString `json:"subtotal_price"`
	TotalTax             shopifyString `json:"total_tax"`
	TotalDiscounts       shopifyString `json:"total_discounts"`
	FinancialStatus      shopifyString `json:"financial_status"`
	AbandonedCheckoutURL shopifyString `json:"abandoned_checkout_url"`
	CompletedAt          shopifyString `json:"completed_at"`
	CreatedAt            shopifyString `json:"created_at"`
	UpdatedAt            shopifyString `json:"updated_at"`
	ProcessedAt          shopifyString `json:"processed_at"`
	OrderID              shopifyString `json:"order_id"`
	Order                *struct {
		ID shopifyString `json:"id"`
	} `json:"order"`
	Customer        *shopifyCustomer  `json:"customer"`
	BillingAddress  *shopifyAddress   `json:"billing_address"`
	ShippingAddress *shopifyAddress   `json:"shipping_address"`
	LineItems       []shopifyLineItem `json:"line_items"`
	DiscountCodes   []struct {
		Code shopifyString `json:"code"`
	} `json:"discount_codes"`
}

// decodeShopify reads a webhook body into v, answering what is wrong with it
// in words a developer testing a webhook can act on.
func decodeShopify(topic string, body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return smsflow.Errorf(smsflow.EINVALID, "the %s body is empty; Shopify sends a JSON object", topic)
		case errors.As(err, &syn):
			return smsflow.Errorf(smsflow.EINVALID, "the %s body is not valid JSON (at byte %d): %v", topic, syn.Offset, err)
		case errors.As(err, &typ):
			field := typ.Field
			if field == "" {
				return smsflow.Errorf(smsflow.EINVALID, "the %s body must be a JSON object, not %s", topic, typ.Value)
			}
			return smsflow.FieldErrorf(smsflow.EINVALID, field, "the %s body has %s where %s expects %s", topic, typ.Value, field, kindOf(typ.Type.String()))
		default:
			return smsflow.Errorf(smsflow.EINVALID, "the %s body is not valid JSON: %v", topic, err)
		}
	}
	if dec.More() {
		return smsflow.Errorf(smsflow.EINVALID, "the %s body holds more than one JSON value", topic)
	}
	return nil
}

func kindOf(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	default:
		return "an object"
	}
}
