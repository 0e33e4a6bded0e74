package api_test

import (
	"context"
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

const (
	safariIOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	iMessage  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0"
	linkDest  = "https://glow.example/c/1?ref=abc&utm_source=sms#pay"
)

// linkServer serves the API over loopback with one stored link, code
// "Ab3dEf7", and returns its base URL.
func linkServer(t *testing.T, db *store.DB) string {
	t.Helper()
	cfg := config.Default()
	cfg.Brand.Name = "Glow"
	ctx := context.Background()
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		_, err := tx.InsertLink(&store.Link{Code: "Ab3dEf7", URL: linkDest, RunID: 7, StepID: "reminder", FlowID: "cart",
			ContactID: "ana", CreatedAt: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Config: cfg, DB: db, Clock: smsflow.WallClock{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// linkFetch makes one request without following redirects.
func linkFetch(t *testing.T, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
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

// linkClicks counts what a click leaves behind: Link Clicked events of the
// contact, and whether clicked(step) would now be true.
func linkClicks(t *testing.T, db *store.DB) (events int, stepClicked bool) {
	t.Helper()
	ctx := context.Background()
	evs, err := db.EventsByContact(ctx, "ana", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Name == smsflow.EventLinkClicked {
			events++
		}
	}
	err = db.WriteTx(ctx, func(tx *store.Tx) error {
		stepClicked, err = tx.StepClicked(7, "reminder")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return events, stepClicked
}

func TestFollowLinkPreviewsRedirectWithoutClick(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		base := linkServer(t, db)
		for _, c := range []struct {
			name, method string
			header       http.Header
		}{
			{"iMessage preview", http.MethodGet, http.Header{"User-Agent": {iMessage}}},
			{"WhatsApp preview", http.MethodGet, http.Header{"User-Agent": {"WhatsApp/2.23.20.0 A"}}},
			{"Slack unfurl", http.MethodGet, http.Header{"User-Agent": {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}}},
			{"browser prefetch", http.MethodGet, http.Header{"User-Agent": {safariIOS}, "Sec-Purpose": {"prefetch"}}},
			{"HEAD from a browser", http.MethodHead, http.Header{"User-Agent": {safariIOS}}},
		} {
			resp, _ := linkFetch(t, c.method, base+"/l/Ab3dEf7", c.header)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != linkDest {
				t.Errorf("%s: %d to %q, want 302 to %s", c.name, resp.StatusCode, resp.Header.Get("Location"), linkDest)
			}
		}
		if n, clicked := linkClicks(t, db); n != 0 || clicked {
			t.Errorf("previews recorded %d Link Clicked events (step clicked: %v), want none", n, clicked)
		}

		// A person's tap is counted, once per tap.
		resp, _ := linkFetch(t, http.MethodGet, base+"/l/Ab3dEf7", http.Header{"User-Agent": {safariIOS}})
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != linkDest {
			t.Fatalf("click: %d to %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), linkDest)
		}
		if n, clicked := linkClicks(t, db); n != 1 || !clicked {
			t.Errorf("after one click: %d Link Clicked events (step clicked: %v), want 1 and true", n, clicked)
		}
	})
}

func TestFollowLinkUnknownCodeIsFriendly404(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		base := linkServer(t, db)
		for _, code := range []string{"Nope234", "ab3def7", strings.Repeat("x", 300)} {
			resp, body := linkFetch(t, http.MethodGet, base+"/l/"+code, http.Header{"User-Agent": {safariIOS}})
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("code %.10s…: status %d, want 404", code, resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("code %.10s…: Content-Type %q, want text/html", code, ct)
			}
			if !strings.Contains(body, "<!doctype html>") || !strings.Contains(body, "Glow") || strings.Contains(body, `"error"`) {
				t.Errorf("code %.10s…: not the friendly page:\n%s", code, body)
			}
		}
		resp, body := linkFetch(t, http.MethodHead, base+"/l/Nope234", nil)
		if resp.StatusCode != http.StatusNotFound || body != "" {
			t.Errorf("HEAD unknown code: %d with %d body bytes, want 404 and none", resp.StatusCode, len(body))
		}
		if n, _ := linkClicks(t, db); n != 0 {
			t.Errorf("unknown codes recorded %d clicks", n)
		}
	})
}
