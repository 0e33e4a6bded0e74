package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/metrics"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestMetricsRoute: GET /metrics takes the admin key, and is absent when
// the server has no metrics.
func TestMetricsRoute(t *testing.T) {
	db := storetest.OpenSQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys := api.Keys{Write: "wk_test", Admin: "ak_test"}
	m := metrics.New(db, smsflow.WallClock{}, log)
	srv := httptest.NewServer(api.New(api.Deps{DB: db, Clock: smsflow.WallClock{}, Log: log, Keys: keys, Metrics: m.Handler()}))
	t.Cleanup(srv.Close)
	get := func(url, key string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		key  string
		want int
	}{{"", 401}, {"wrong", 401}, {keys.Write, 403}, {keys.Admin, 200}} {
		code, body := get(srv.URL+"/metrics", tc.key)
		if code != tc.want {
			t.Errorf("key %q: %d, want %d (%s)", tc.key, code, tc.want, body)
		}
		if code == 200 && !strings.Contains(body, `smsflow_runs{state="active"} 0`) {
			t.Errorf("the admin key got no smsflow gauges:\n%s", body)
		}
	}

	bare := httptest.NewServer(api.New(api.Deps{DB: db, Clock: smsflow.WallClock{}, Log: log, Keys: keys}))
	t.Cleanup(bare.Close)
	if code, body := get(bare.URL+"/metrics", keys.Admin); code != 404 {
		t.Errorf("without metrics: %d, want 404 (%s)", code, body)
	}
}
