package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ClaimShopifyWebhook records a Shopify delivery's X-Shopify-Webhook-Id and
// reports whether it is new. Called in the transaction that stores what the
// delivery means, so the claim commits (or rolls back) with it: a retry of a
// delivery that was stored is a duplicate, a retry of one that failed is not.
func (t *Tx) ClaimShopifyWebhook(webhookID, topic, shop string, receivedAt time.Time) (bool, error) {
	var id string
	err := t.queryRow(`INSERT INTO shopify_webhooks (webhook_id, topic, shop, received_at) VALUES (?, ?, ?, ?)
ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id`, webhookID, topic, shop, micros(receivedAt)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim shopify webhook %s: %w", webhookID, err)
	}
	return true, nil
}

// ShopifyWebhookSeen reports whether a webhook id was claimed (tests, support).
func (db *DB) ShopifyWebhookSeen(ctx context.Context, webhookID string) (bool, error) {
	var n int
	err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM shopify_webhooks WHERE webhook_id = ?`, webhookID).Scan(&n)
	return n > 0, err
}

// PruneShopifyWebhooks deletes webhook ids received before cutoff and
// returns how many. Shopify stops retrying a delivery after 4 hours (8
// tries), so ids older than a few days can no longer come back.
func (t *Tx) PruneShopifyWebhooks(cutoff time.Time) (int64, error) {
	res, err := t.exec(`DELETE FROM shopify_webhooks WHERE received_at < ?`, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune shopify webhooks: %w", err)
	}
	return res.RowsAffected()
}
