package provider_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsflow/smsflow/provider"
)

// TestHTTPClientReusesConnections checks that the HTTP providers' default
// client keeps a connection per call in flight: 16 concurrent calls, ten
// rounds, open at most 16 connections (Go's default client keeps 2 idle and
// would dial most calls anew).
func TestHTTPClientReusesConnections(t *testing.T) {
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"sid":"SM1"}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	client := provider.HTTPClient(10 * time.Second)
	const inFlight, rounds = 16, 10
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, inFlight)
		for i := 0; i < inFlight; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Post(srv.URL, "application/x-www-form-urlencoded", nil)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	if n := opened.Load(); n > inFlight {
		t.Errorf("%d calls in rounds of %d opened %d connections, want at most %d", inFlight*rounds, inFlight, n, inFlight)
	}
}
