package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestPostConsentDoubleOptIn: with double_opt_in, POST
// /v1/contacts/{id}/consent answers 201 with the number pending and the
// confirmation request queued; double_opt_in cannot be claimed as a source.
func TestPostConsentDoubleOptIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)
		if err := db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.InsertContact(&smsflow.Contact{ID: "ana", Phone: "+14155550100", Traits: map[string]any{}, CreatedAt: at, UpdatedAt: at})
		}); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.DoubleOptIn = true
		cfg.Brand.Name = "Glow"
		srv := httptest.NewServer(api.New(api.Deps{Config: cfg, DB: db, Clock: smsflow.WallClock{},
			Keys: api.Keys{Write: "wk", Admin: "ak"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
		t.Cleanup(srv.Close)
		post := func(body string) (int, map[string]any) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/contacts/ana/consent", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer ak")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode, out
		}
		status, out := post(`{"status":"subscribed","source":"checkout","evidence":{"url":"https://glow.example/checkout"}}`)
		conf, _ := out["confirmation"].(map[string]any)
		entry, _ := out["entry"].(map[string]any)
		if status != 201 || out["status"] != "pending" || entry["status"] != "pending" || entry["source"] != "checkout" ||
			conf["queued"] != true || conf["message_id"] == nil {
			t.Fatalf("double opt-in answer %d %v, want 201 pending with the confirmation queued", status, out)
		}
		status, out = post(`{"status":"subscribed","source":"double_opt_in","evidence":{"keyword":"Y"}}`)
		if e, _ := out["error"].(map[string]any); status != 400 || e["field"] != "source" {
			t.Errorf("claimed double_opt_in: %d %v, want 400 on source", status, out)
		}
	})
}
