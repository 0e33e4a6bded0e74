package shopify

import (
	"time"

	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/store"
)

// WriteTx is what a webhook delivery reads and writes in the transaction
// that commits its items (ingest.TxHooks): its X-Shopify-Webhook-Id, and
// the contact, aliases and consent entry it resolves or records. Those go
// through ingest's own interface, ingest.WriteTx, because the consent path
// ends in ingest.RequestConfirmation. *store.Tx implements it (D85:
// consumers declare the narrow interfaces they need).
type WriteTx interface {
	ingest.WriteTx

	// shopify_webhooks: one delivery per webhook id, pruned as they age
	ClaimShopifyWebhook(webhookID, topic, shop string, receivedAt time.Time) (bool, error)
	PruneShopifyWebhooks(cutoff time.Time) (int64, error)
}

var _ WriteTx = (*store.Tx)(nil)
