package shopify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
)

// Shopify webhook topics smsflow maps (docs/shopify.md). Every other topic
// is acknowledged and ignored, so Shopify does not retry it.
const (
	OrdersCreate    = "orders/create"
	OrdersPaid      = "orders/paid"
	CheckoutsCreate = "checkouts/create"
	CheckoutsUpdate = "checkouts/update"
	CustomersCreate = "customers/create"
	CustomersUpdate = "customers/update"
)

// EventCheckoutCompleted records a Shopify checkout that became an order
// when the checkout payload does not name the order: history only, since
// revenue and the flows' Order Completed come with orders/create.
const EventCheckoutCompleted = "Checkout Completed"

const (
	shopifyMessageIDPrefix  = "shopify-"
	maxShopifyLineItems     = 500
	maxShopifyStringPayload = 2048
)

// Delivery is one webhook request as Shopify sent it: the headers
// smsflow reads and the raw (already verified) body.
type Delivery struct {
	Topic     string // X-Shopify-Topic
	WebhookID string // X-Shopify-Webhook-Id, the dedupe key ("" when absent)
	Shop      string // X-Shopify-Shop-Domain
	Body      []byte
}

// Consent is a customer's sms_marketing_consent, for the number in
// Phone (the customer's own phone: Shopify's SMS consent belongs to it).
type Consent struct {
	State         string // subscribed, unsubscribed, not_subscribed, pending, redacted, invalid
	OptInLevel    string // single_opt_in, confirmed_opt_in, unknown
	UpdatedAt     time.Time
	CollectedFrom string // SHOPIFY, OTHER, …
	Phone         string // E.164
}

// Mapping is what a delivery means to smsflow: the items to apply
// (their UserID is left empty: the contact is resolved in the write
// transaction from CustomerID and Phone) and, for customers/*, a consent
// change to weigh against the ledger.
type Mapping struct {
	Topic      string
	Ignored    string // why the delivery maps to nothing ("" when it maps to items)
	CustomerID string
	Phone      *phone.Number
	Items      []*ingest.Item
	Consent    *Consent
}

// Map turns a verified webhook delivery into what smsflow stores. It
// is pure: the same delivery, region and now give the same mapping. An
// *smsflow.Error (EINVALID, for a 400) says what is malformed; a topic
// smsflow does not use maps to Ignored.
//
//   - orders/create, orders/paid → Order Completed (order_id = the order's
//     id, so both topics and the storefront's own Order Completed dedupe);
//   - checkouts/create|update → Checkout Started, once per checkout token;
//     a checkout with completed_at → Order Completed when the payload names
//     its order, else Checkout Completed (orders/create brings the order);
//   - customers/create|update → identify (phone, first_name, last_name,
//     email) and the customer's sms_marketing_consent.
//
// Orders and checkouts also identify the customer (phone and names), so a
// cart-recovery text can greet them.
func Map(d Delivery, region string, now time.Time) (*Mapping, error) {
	m := &Mapping{Topic: d.Topic}
	switch d.Topic {
	case OrdersCreate, OrdersPaid, CheckoutsCreate, CheckoutsUpdate:
		var o shopifyOrder
		if err := decodeShopify(d.Topic, d.Body, &o); err != nil {
			return nil, err
		}
		if err := mapShopifyOrder(m, d, &o, region, now); err != nil {
			return nil, err
		}
	case CustomersCreate, CustomersUpdate:
		var c shopifyCustomer
		if err := decodeShopify(d.Topic, d.Body, &c); err != nil {
			return nil, err
		}
		if err := mapShopifyCustomer(m, d, &c, region, now); err != nil {
			return nil, err
		}
	default:
		m.Ignored = fmt.Sprintf("topic %q is not used by smsflow", d.Topic)
		return m, nil
	}
	if m.CustomerID == "" && m.Phone == nil && m.Ignored == "" {
		m.Ignored = "the payload has no customer id and no valid phone number: nobody to attribute it to"
	}
	if m.Ignored != "" {
		m.Items = nil
		m.Consent = nil
	}
	return m, nil
}

func mapShopifyOrder(m *Mapping, d Delivery, o *shopifyOrder, region string, now time.Time) error {
	checkout := d.Topic == CheckoutsCreate || d.Topic == CheckoutsUpdate
	if o.Customer != nil {
		m.CustomerID = o.Customer.ID.String()
		if err := smsflow.CheckID("customer.id", m.CustomerID, smsflow.MaxIDLength); err != nil {
			return err
		}
	}
	m.Phone = firstPhone(region, o.phoneCandidates()...)

	if traits := o.traits(); len(traits) > 0 || m.Phone != nil {
		m.Items = append(m.Items, &ingest.Item{Type: smsflow.EventIdentify, MessageID: secondaryMessageID(d, "identify"),
			Traits: traits, Phone: m.Phone, Timestamp: eventTime(now, o.UpdatedAt, o.CreatedAt), ReceivedAt: now})
	}

	if !checkout {
		id := o.ID.String()
		if id == "" {
			return smsflow.FieldErrorf(smsflow.EINVALID, "id", "the %s payload has no id: an order needs one (it becomes order_id)", d.Topic)
		}
		m.Items = append(m.Items, o.orderCompleted(id, now))
		return nil
	}

	token := o.Token.String()
	if token == "" {
		token = o.ID.String()
	}
	if token == "" {
		return smsflow.FieldErrorf(smsflow.EINVALID, "token", "the %s payload has neither token nor id: a checkout needs one", d.Topic)
	}
	if o.CompletedAt.String() != "" {
		// The checkout became an order: that ends cart recovery. The order's
		// id (when the payload names it) lets this Order Completed dedupe with
		// orders/create and the storefront's; without it, only the order can
		// carry revenue, so the checkout is recorded as completed.
		orderID := o.OrderID.String()
		if orderID == "" && o.Order != nil {
			orderID = o.Order.ID.String()
		}
		if orderID != "" {
			m.Items = append(m.Items, o.orderCompleted(orderID, now))
			return nil
		}
		props := o.checkoutProperties(token)
		m.Items = append(m.Items, &ingest.Item{Type: smsflow.EventTrack, MessageID: shopifyMessageIDPrefix + "checkout-completed-" + token,
			Name: EventCheckoutCompleted, Properties: props, Timestamp: eventTime(now, o.CompletedAt, o.UpdatedAt), ReceivedAt: now})
		return nil
	}
	// One Checkout Started per checkout: the many checkouts/update calls of
	// one checkout (address, shipping, payment steps) are the same start.
	m.Items = append(m.Items, &ingest.Item{Type: smsflow.EventTrack, MessageID: shopifyMessageIDPrefix + "checkout-" + token,
		Name: smsflow.EventCheckoutStarted, Properties: o.checkoutProperties(token),
		Timestamp: eventTime(now, o.UpdatedAt, o.CreatedAt), ReceivedAt: now})
	return nil
}

// orderCompleted is the Segment Order Completed of an order (or of a
// completed checkout that names its order).
func (o *shopifyOrder) orderCompleted(orderID string, now time.Time) *ingest.Item {
	props := map[string]any{"order_id": orderID, "source": "shopify", "products": o.products()}
	if v := o.Name.String(); v != "" {
		props["order_name"] = v
	}
	if v := o.OrderNumber.String(); v != "" {
		props["order_number"] = v
	}
	if v := o.CheckoutID.String(); v != "" {
		props["checkout_id"] = v
	}
	if v := o.CheckoutToken.String(); v != "" {
		props["checkout_token"] = v
	} else if v := o.Token.String(); v != "" && o.CompletedAt.String() != "" {
		props["checkout_token"] = v
	}
	if v, ok := o.TotalPrice.number(); ok {
		props["revenue"], props["total"] = v, v
	}
	money(props, "subtotal", o.SubtotalPrice)
	money(props, "tax", o.TotalTax)
	money(props, "discount", o.TotalDiscounts)
	if v := o.Currency.String(); v != "" {
		props["currency"] = v
	}
	if v := o.FinancialStatus.String(); v != "" {
		props["financial_status"] = v
	}
	if len(o.DiscountCodes) > 0 && o.DiscountCodes[0].Code.String() != "" {
		props["coupon"] = o.DiscountCodes[0].Code.String()
	}
	return &ingest.Item{Type: smsflow.EventTrack, MessageID: shopifyMessageIDPrefix + "order-" + orderID, Name: smsflow.EventOrderCompleted,
		Properties: props, Timestamp: eventTime(now, o.ProcessedAt, o.CreatedAt, o.CompletedAt), ReceivedAt: now}
}

// checkoutProperties are a checkout's Segment Checkout Started properties;
// value is what the cart-recovery flow's trigger reads.
func (o *shopifyOrder) checkoutProperties(token string) map[string]any {
	props := map[string]any{"checkout_id": token, "checkout_token": token, "source": "shopify", "products": o.products()}
	if v := o.ID.String(); v != "" {
		props["shopify_checkout_id"] = v
	}
	if v := o.CartToken.String(); v != "" {
		props["cart_token"] = v
	}
	if v, ok := o.TotalPrice.number(); ok {
		props["value"] = v
	}
	money(props, "subtotal", o.SubtotalPrice)
	if v := o.Currency.String(); v != "" {
		props["currency"] = v
	}
	if v := o.AbandonedCheckoutURL.String(); v != "" {
		props["checkout_url"] = v
	}
	if len(o.DiscountCodes) > 0 && o.DiscountCodes[0].Code.String() != "" {
		props["coupon"] = o.DiscountCodes[0].Code.String()
	}
	return props
}

// products are the line items as Segment products.
func (o *shopifyOrder) products() []any {
	out := make([]any, 0, min(len(o.LineItems), maxShopifyLineItems))
	for i, li := range o.LineItems {
		if i == maxShopifyLineItems {
			break
		}
		p := map[string]any{}
		if v := li.ProductID.String(); v != "" {
			p["product_id"], p["id"] = v, v
		}
		if v := li.VariantID.String(); v != "" {
			p["variant_id"] = v
		}
		if v := li.SKU.String(); v != "" {
			p["sku"] = v
		}
		name := li.Title.String()
		if name == "" {
			name = li.Name.String()
		}
		if name != "" {
			p["name"] = name
		}
		if v := li.VariantTitle.String(); v != "" {
			p["variant"] = v
		}
		if v := li.Vendor.String(); v != "" {
			p["brand"] = v
		}
		money(p, "price", li.Price)
		money(p, "quantity", li.Quantity)
		out = append(out, p)
	}
	return out
}

// phoneCandidates lists the numbers an order or checkout carries, best
// first, each with the region to read it in (an address's own country).
func (o *shopifyOrder) phoneCandidates() []phoneCandidate {
	var out []phoneCandidate
	if o.Customer != nil {
		out = append(out, phoneCandidate{raw: o.Customer.Phone})
	}
	out = append(out, phoneCandidate{raw: o.SMSMarketingPhone}, phoneCandidate{raw: o.Phone})
	for _, a := range []*shopifyAddress{o.BillingAddress, o.ShippingAddress} {
		if a != nil {
			out = append(out, phoneCandidate{raw: a.Phone, region: a.CountryCode.String()})
		}
	}
	if o.Customer != nil && o.Customer.DefaultAddress != nil {
		a := o.Customer.DefaultAddress
		out = append(out, phoneCandidate{raw: a.Phone, region: a.CountryCode.String()})
	}
	return out
}

// traits are the customer's names and email, from the customer when the
// payload has one, else from the billing address and the order's email.
func (o *shopifyOrder) traits() map[string]any {
	t := map[string]any{}
	if c := o.Customer; c != nil {
		t = c.traits()
	}
	if _, ok := t["email"]; !ok && o.Email.String() != "" {
		t["email"] = o.Email.String()
	}
	if a := o.BillingAddress; a != nil {
		if _, ok := t["first_name"]; !ok && a.FirstName.String() != "" {
			t["first_name"] = a.FirstName.String()
		}
		if _, ok := t["last_name"]; !ok && a.LastName.String() != "" {
			t["last_name"] = a.LastName.String()
		}
	}
	return t
}

func (c *shopifyCustomer) traits() map[string]any {
	t := map[string]any{}
	for k, v := range map[string]shopifyString{"first_name": c.FirstName, "last_name": c.LastName, "email": c.Email, "shopify_customer_id": c.ID} {
		if s := v.String(); s != "" {
			t[k] = s
		}
	}
	return t
}

func mapShopifyCustomer(m *Mapping, d Delivery, c *shopifyCustomer, region string, now time.Time) error {
	m.CustomerID = c.ID.String()
	if m.CustomerID == "" {
		return smsflow.FieldErrorf(smsflow.EINVALID, "id", "the %s payload has no id: a customer needs one", d.Topic)
	}
	if err := smsflow.CheckID("id", m.CustomerID, smsflow.MaxIDLength); err != nil {
		return err
	}
	own := firstPhone(region, phoneCandidate{raw: c.Phone})
	m.Phone = own
	if m.Phone == nil && c.DefaultAddress != nil {
		m.Phone = firstPhone(region, phoneCandidate{raw: c.DefaultAddress.Phone, region: c.DefaultAddress.CountryCode.String()})
	}
	ts := eventTime(now, c.UpdatedAt, c.CreatedAt)
	m.Items = append(m.Items, &ingest.Item{Type: smsflow.EventIdentify, MessageID: secondaryMessageID(d, "identify"),
		Traits: c.traits(), Phone: m.Phone, Timestamp: ts, ReceivedAt: now})
	if sc := c.SMSMarketingConsent; sc != nil && own != nil && sc.State.String() != "" {
		m.Consent = &Consent{State: strings.ToLower(sc.State.String()), OptInLevel: sc.OptInLevel.String(),
			UpdatedAt: sc.ConsentUpdatedAt.time(), CollectedFrom: sc.ConsentCollectedFrom.String(), Phone: own.E164}
	}
	return nil
}

type phoneCandidate struct {
	raw    shopifyString
	region string
}

// firstPhone returns the first candidate that is a valid number, read in
// its own region else the default one; unreadable numbers ("555-555-SHIP")
// are passed over, never refused: the rest of the webhook still counts.
func firstPhone(region string, cands ...phoneCandidate) *phone.Number {
	for _, c := range cands {
		raw := c.raw.String()
		if raw == "" {
			continue
		}
		r := region
		if c.region != "" && phone.ValidRegion(c.region) {
			r = c.region
		}
		if n, err := phone.Parse(raw, r); err == nil {
			return &n
		}
	}
	return nil
}

// eventTime is the first readable timestamp of the candidates, never later
// than now; now when there is none.
func eventTime(now time.Time, cands ...shopifyString) time.Time {
	for _, c := range cands {
		if t := c.time(); !t.IsZero() {
			if t.After(now) {
				return now
			}
			return t
		}
	}
	return now
}

func money(props map[string]any, key string, v shopifyString) {
	if f, ok := v.number(); ok {
		props[key] = f
	}
}

// secondaryMessageID is the messageId of an item that has no natural key of
// its own (the identify a webhook carries): the webhook id when Shopify sent
// one, else a digest of the body, so a resent body is still one event.
func secondaryMessageID(d Delivery, what string) string {
	key := d.WebhookID
	if key == "" || len(key) > 64 {
		sum := sha256.Sum256(append([]byte(d.Topic+"\n"), d.Body...))
		key = hex.EncodeToString(sum[:12])
	}
	return shopifyMessageIDPrefix + key + "-" + what
}

// DecideConsent weighs a customer's Shopify SMS consent against the
// number's ledger (before: its status; latest: its entry recorded last, nil
// when none) and returns the status to record, or "" and why nothing is
// recorded. Shopify never resubscribes: a number unsubscribed in smsflow —
// by STOP, the carrier, the API, an import or Shopify itself — stays
// unsubscribed whatever Shopify says. "unsubscribed" always unsubscribes:
// an opt-out wins over every opt-in recorded before it, whatever the dates.
// A "subscribed" dated no later than the ledger's latest entry claims is
// stale (the ledger already knows something newer), and a state equal to
// the current status adds nothing.
func DecideConsent(before smsflow.ConsentStatus, latest *smsflow.ConsentEntry, c Consent, at time.Time) (smsflow.ConsentStatus, string) {
	var want smsflow.ConsentStatus
	switch c.State {
	case "subscribed":
		want = smsflow.ConsentSubscribed
	case "unsubscribed":
		want = smsflow.ConsentUnsubscribed
	default:
		return "", fmt.Sprintf("sms_marketing_consent.state %q changes nothing in smsflow", c.State)
	}
	if before == want {
		return "", "already " + string(want)
	}
	if want == smsflow.ConsentUnsubscribed {
		return want, ""
	}
	if before == smsflow.ConsentUnsubscribed {
		return "", "refused: the number is unsubscribed in smsflow and Shopify never resubscribes it (only the person can: START by text, or a new opt-in with evidence)"
	}
	if latest != nil && !at.After(latest.OccurredAt) {
		return "", fmt.Sprintf("stale: Shopify's consent dates from %s, the ledger's latest entry from %s",
			at.Format(time.RFC3339), latest.OccurredAt.Format(time.RFC3339))
	}
	return want, ""
}
