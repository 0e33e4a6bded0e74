package api_test

import (
	"context"
	"encoding/csv"
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
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const reportFlow = `id: promo
name: Spring promo
category: promo
trigger:
  event: Checkout Started
goal:
  event: Order Completed
  within: 2d
  value: 'double(event.properties.revenue)'
steps:
  - id: first
    send: "Spring sale starts now"
  - wait: 1d
  - id: second
    send: "Last day of the sale"
`

// reportServer serves the API over a database holding two runs of "promo":
// one received "first" (delivered, 2 segments) and converted for 30.
func reportServer(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)
	cat := engine.NewCatalog(db)
	if _, problems, err := cat.Save(ctx, "promo", []byte(reportFlow), at); err != nil || len(problems) > 0 {
		t.Fatalf("save flow: %v %v", err, problems)
	}
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		for i, id := range []string{"ana", "bo"} {
			r := &smsflow.Run{FlowID: "promo", FlowVersion: 1, ContactID: id, Status: smsflow.RunWaiting, EnteredAt: at, UpdatedAt: at}
			if i == 0 {
				r.Status, r.ExitReason, r.GoalAt, r.GoalValue = smsflow.RunExited, "goal", at.Add(time.Hour), 30
			}
			if err := tx.InsertRun(r); err != nil {
				return err
			}
			if i == 0 {
				m := &smsflow.Message{Direction: "out", RunID: r.ID, StepID: "first", FlowID: "promo", ContactID: id, Phone: "+14155550100",
					Body: "x", Segments: 2, Status: smsflow.MessageDelivered, ProviderID: "SM1", CreatedAt: at.Add(time.Minute), UpdatedAt: at.Add(time.Minute)}
				if _, err := tx.InsertMessage(m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.SegmentPrice = "0.5"
	srv := httptest.NewServer(api.New(api.Deps{Config: cfg, DB: db, Clock: smsflow.WallClock{}, Catalog: cat,
		Keys: api.Keys{Write: "wk", Admin: "ak"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// reportGet fetches a report URL, with the admin key when admin is set.
func reportGet(t *testing.T, url, accept string, admin bool) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer ak")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestFlowReportHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		base := reportServer(t, db)
		resp, body := reportGet(t, base+"/v1/flows/promo/report?from=2025-03-01&to=2025-03-07", "", true)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var rep struct {
			FlowID string `json:"flow_id"`
			From   string `json:"from"`
			To     string `json:"to"`
			Totals struct {
				Entered, Sent, Delivered, Segments, Conversions int64
				Cost, Revenue                                   float64
				Exited                                          map[string]int64
				ConversionRate                                  *float64 `json:"conversion_rate"`
				MedianTimeToClickS                              *float64 `json:"median_time_to_click_s"`
			} `json:"totals"`
			Steps []struct {
				StepID string `json:"step_id"`
				Sent   int64  `json:"sent"`
			} `json:"steps"`
			Variants []any `json:"variants"`
			Lift     struct {
				Enough bool      `json:"enough_data"`
				Note   string    `json:"note"`
				CI95   []float64 `json:"ci95"`
			} `json:"lift"`
		}
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		tt := rep.Totals
		if rep.FlowID != "promo" || rep.From != "2025-03-01T00:00:00Z" || rep.To != "2025-03-08T00:00:00Z" ||
			tt.Entered != 2 || tt.Sent != 1 || tt.Delivered != 1 || tt.Segments != 2 || tt.Cost != 1 || tt.Conversions != 1 || tt.Revenue != 30 ||
			tt.ConversionRate == nil || *tt.ConversionRate != 0.5 || tt.MedianTimeToClickS != nil || tt.Exited["goal"] != 1 {
			t.Errorf("report = %s", body)
		}
		if len(rep.Steps) != 2 || rep.Steps[0].StepID != "first" || rep.Steps[0].Sent != 1 || rep.Steps[1].StepID != "second" || rep.Variants == nil {
			t.Errorf("steps/variants = %s", body)
		}
		if rep.Lift.Enough || !strings.Contains(rep.Lift.Note, "not enough data") || rep.Lift.CI95 != nil || !strings.Contains(body, `"ci95":null`) {
			t.Errorf("lift = %+v", rep.Lift)
		}

		for _, c := range []struct{ url, accept string }{
			{"/v1/flows/promo/report?from=2025-03-01&to=2025-03-07", "text/csv"},
			{"/v1/flows/promo/report?from=2025-03-01&to=2025-03-07&format=csv", ""},
		} {
			resp, body := reportGet(t, base+c.url, c.accept, true)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("csv %s: %d %s", c.url, resp.StatusCode, body)
			}
			rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil || len(rows) != 4 || rows[0][0] != "step_id" || rows[1][0] != "first" || rows[1][2] != "1" || rows[1][6] != "1" || rows[3][0] != "total" {
				t.Errorf("csv %s = %v %v", c.url, rows, err)
			}
		}

		for _, c := range []struct {
			url         string
			admin       bool
			status      int
			code, field string
		}{
			{"/v1/flows/promo/report?from=last-week", true, 400, "invalid", "from"},
			{"/v1/flows/promo/report?from=2025-03-09&to=2025-03-01", true, 400, "invalid", "from"},
			{"/v1/flows/promo/report?format=xml", true, 400, "invalid", "format"},
			{"/v1/flows/nope/report", true, 404, "not_found", ""},
			{"/v1/flows/promo/report", false, 401, "unauthorized", ""},
			{"/v1/reports/program?to=2025-99-01", true, 400, "invalid", "to"},
		} {
			resp, body := reportGet(t, base+c.url, "", c.admin)
			var e struct {
				Error struct{ Code, Field, Message string } `json:"error"`
			}
			json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != c.status || e.Error.Code != c.code || e.Error.Field != c.field || e.Error.Message == "" {
				t.Errorf("%s: %d %s", c.url, resp.StatusCode, body)
			}
		}
	})
}

func TestProgramReportHTTP(t *testing.T) {
	db := storetest.OpenSQLite(t)
	base := reportServer(t, db)
	resp, body := reportGet(t, base+"/v1/reports/program?from=2025-03-01&to=2025-03-07", "", true)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var rep struct {
		Days  []struct{ Date string } `json:"days"`
		Sent  int64                   `json:"sent"`
		Flows []struct {
			FlowID       string   `json:"flow_id"`
			DeliveryRate *float64 `json:"delivery_rate"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Days) != 7 || rep.Days[0].Date != "2025-03-01" || rep.Days[6].Date != "2025-03-07" || rep.Sent != 1 ||
		len(rep.Flows) != 1 || rep.Flows[0].FlowID != "promo" || rep.Flows[0].DeliveryRate == nil || *rep.Flows[0].DeliveryRate != 1 {
		t.Errorf("program = %s", body)
	}
}
