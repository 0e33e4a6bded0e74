package api_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// The messages a crash left unknown are listed with ?status=unknown, and an
// operator resends them or gives up on them by id; hostile or malformed ids
// are a 400 naming the problem, the same on both databases.
func TestUnknownMessagesResendAndGiveUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)
		var ids []int64
		if err := db.WriteTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertContact(&smsflow.Contact{ID: "ana", Phone: "+14155550100", Traits: map[string]any{}, CreatedAt: at, UpdatedAt: at}); err != nil {
				return err
			}
			for i := range 4 {
				m := &smsflow.Message{Direction: "out", StepID: fmt.Sprintf("keyword:%d", i), ContactID: "ana", Phone: "+14155550100", Body: "hi",
					Encoding: "GSM-7", Characters: 2, Segments: 1, Status: smsflow.MessageQueued, CreatedAt: at, UpdatedAt: at}
				if _, err := tx.InsertMessage(m); err != nil {
					return err
				}
				ids = append(ids, m.ID)
			}
			_, err := tx.ClaimOutbox(at, 3, store.OutboxScope{Node: "gone", Claim: 5}) // the first three
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.MarkCalling(ctx, ids[:3], 5, at); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecoverClaims(ctx, "gone", time.Time{}, at); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(api.New(api.Deps{Config: config.Default(), DB: db, Clock: smsflow.WallClock{},
			Keys: api.Keys{Write: "wk", Admin: "ak"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
		t.Cleanup(srv.Close)
		call := func(method, path, key, body string) (int, map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatalf("%s %s: %d, not JSON: %v", method, path, resp.StatusCode, err)
			}
			return resp.StatusCode, out
		}
		status, out := call("GET", "/v1/messages?status=unknown", "ak", "")
		if list, _ := out["messages"].([]any); status != 200 || len(list) != 3 {
			t.Fatalf("GET ?status=unknown: %d %v, want the three unknown messages", status, out)
		}

		body := fmt.Sprintf(`{"ids":[%d,%d,%d]}`, ids[0], ids[0], ids[3])
		status, out = call("POST", "/v1/messages/resend", "ak", body)
		if status != 200 || fmt.Sprint(out["resent"]) != fmt.Sprintf("[%d]", ids[0]) || fmt.Sprint(out["skipped"]) != fmt.Sprintf("[%d]", ids[3]) {
			t.Errorf("resend: %d %v, want %d resent (once) and the queued %d skipped", status, out, ids[0], ids[3])
		}
		status, out = call("POST", "/v1/messages/give-up", "ak", fmt.Sprintf(`{"ids":[%d,%d]}`, ids[0], ids[1]))
		if status != 200 || fmt.Sprint(out["given_up"]) != fmt.Sprintf("[%d]", ids[1]) || fmt.Sprint(out["skipped"]) != fmt.Sprintf("[%d]", ids[0]) {
			t.Errorf("give-up: %d %v, want %d given up and the resent %d skipped", status, out, ids[1], ids[0])
		}
		msgs, err := db.Messages(ctx, store.MessageFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]string{}
		for _, m := range msgs {
			got[m.ID] = m.Status + "/" + m.ErrorCode
		}
		for id, want := range map[int64]string{ids[0]: "queued/resent:operator", ids[1]: "canceled/given_up", ids[2]: "unknown/interrupted", ids[3]: "queued/"} {
			if got[id] != want {
				t.Errorf("message %d is %s, want %s", id, got[id], want)
			}
		}

		// The admin key only.
		if status, _ := call("POST", "/v1/messages/resend", "wk", body); status != 401 && status != 403 {
			t.Errorf("resend with the write key: %d, want 401/403", status)
		}
		many := strings.Repeat("1,", api.MaxUnknownIDs) + "1"
		for _, bad := range []string{``, `{}`, `{"ids":[]}`, `{"ids":null}`, `{"ids":[0]}`, `{"ids":[-3]}`, `{"ids":[1.5]}`, `{"ids":["1"]}`,
			`{"ids":[99999999999999999999]}`, `{"ids":[1],"x":1}`, `{"ids":[1]} {}`, `[1]`, `{"ids":[` + many + `]}`} {
			for _, path := range []string{"/v1/messages/resend", "/v1/messages/give-up"} {
				status, out := call("POST", path, "ak", bad)
				e, _ := out["error"].(map[string]any)
				msg, _ := e["message"].(string)
				if status != 400 || msg == "" {
					t.Errorf("%s %.60q: %d %v, want 400 with a message", path, bad, status, out)
				}
				if strings.Contains(msg, "int64") || strings.Contains(msg, "[]") {
					t.Errorf("%s %.60q: %q names a Go type; say what JSON value it takes", path, bad, msg)
				}
			}
		}
	})
}
