package api_test

import (
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
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// keyringAPI serves the API with a keyring over db: the stored keys
// rotate, fixed ones do not.
func keyringAPI(t *testing.T, db *store.DB, fixed api.Keys, from map[string]string) (*ingestAPI, *api.Keyring) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &ingestAPI{t: t, db: db, clock: testkit.NewClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))}
	ring, created, err := api.OpenKeyring(ctx, db, api.KeyringOptions{Fixed: fixed, FixedFrom: from, Clock: a.clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 - countSet(fixed); len(created) != want {
		t.Fatalf("a new database: %d keys generated (%v), want %d", len(created), created, want)
	}
	w := ingest.NewWriter(db, a.clock, log)
	w.Start()
	t.Cleanup(w.Stop)
	srv := httptest.NewServer(api.New(api.Deps{Config: config.Default(), DB: db, Writer: w, Clock: a.clock, Log: log, Keyring: ring}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a, ring
}

func countSet(k api.Keys) int {
	n := 0
	for _, v := range []string{k.Write, k.Server, k.Admin} {
		if v != "" {
			n++
		}
	}
	return n
}

func (a *ingestAPI) track(key string) int {
	a.t.Helper()
	return a.post("/v1/track", key, "", `{"userId":"ana","event":"Viewed"}`).status
}

func TestRotatedWriteKeyWorksFor24Hours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, ring := keyringAPI(t, db, api.Keys{}, nil)
		old := ring.Keys()
		if got := a.track(old.Write); got != 200 {
			t.Fatalf("the generated write key: %d, want 200", got)
		}
		now, err := ring.Rotate(ctx, api.KeyWrite)
		if err != nil {
			t.Fatal(err)
		}
		if now.Write == old.Write || !strings.HasPrefix(now.Write, "wk_") {
			t.Fatalf("rotated write key %q (old %q), want a new wk_ key", now.Write, old.Write)
		}
		if now.Server != old.Server || now.Admin != old.Admin {
			t.Errorf("rotating the write key changed the others")
		}
		if got := a.track(now.Write); got != 200 {
			t.Errorf("the new write key at once: %d, want 200", got)
		}
		a.clock.Add(api.WriteKeyGrace - time.Minute)
		if got := a.track(old.Write); got != 200 {
			t.Errorf("the old write key 23h59m after the rotation: %d, want 200", got)
		}
		a.clock.Add(time.Minute)
		if got := a.track(old.Write); got != 401 {
			t.Errorf("the old write key 24h after the rotation: %d, want 401", got)
		}
		if got := a.track(now.Write); got != 200 {
			t.Errorf("the new write key after 24h: %d, want 200", got)
		}

		// Another node (a keyring of its own on the same database) takes
		// the rotation up when it reloads.
		other, _, err := api.OpenKeyring(ctx, db, api.KeyringOptions{Clock: a.clock})
		if err != nil {
			t.Fatal(err)
		}
		if got := other.Keys(); got.Write != now.Write || len(got.PreviousWrite) != 1 || got.PreviousWrite[0].Key != old.Write ||
			!got.PreviousWrite[0].Until.Equal(now.PreviousWrite[0].Until) {
			t.Errorf("another node reads %+v, want the new write key and the old one until %s", got, now.PreviousWrite[0].Until)
		}
	})
}

// A second rotation within 24 hours keeps the first replaced key for the
// rest of its own 24 hours (D100); once MaxPreviousWriteKeys replaced keys
// are in their grace, a rotation is refused and says when it is possible.
func TestSecondWriteKeyRotationKeepsTheFirstGrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, ring := keyringAPI(t, db, api.Keys{}, nil)
		first := ring.Keys().Write
		if _, err := ring.Rotate(ctx, api.KeyWrite); err != nil {
			t.Fatal(err)
		}
		second := ring.Keys().Write
		a.clock.Add(10 * time.Hour)
		if _, err := ring.Rotate(ctx, api.KeyWrite); err != nil {
			t.Fatal(err)
		}
		third := ring.Keys().Write
		for name, key := range map[string]string{"first": first, "second": second, "third": third} {
			if got := a.track(key); got != 200 {
				t.Errorf("the %s write key right after the second rotation: %d, want 200", name, got)
			}
		}
		// The first key's grace ends 24 h after the first rotation, the
		// second's 24 h after the second.
		a.clock.Add(14*time.Hour - time.Minute)
		if got := a.track(first); got != 200 {
			t.Errorf("the first key 23h59m after its rotation: %d, want 200", got)
		}
		a.clock.Add(time.Minute)
		if got := a.track(first); got != 401 {
			t.Errorf("the first key 24h after its rotation: %d, want 401", got)
		}
		if got := a.track(second); got != 200 {
			t.Errorf("the second key 14h after its rotation: %d, want 200", got)
		}
		a.clock.Add(10 * time.Hour)
		if got := a.track(second); got != 401 {
			t.Errorf("the second key 24h after its rotation: %d, want 401", got)
		}

		// The list is bounded: after MaxPreviousWriteKeys rotations within
		// a day the next is refused, saying when it can be done.
		for range api.MaxPreviousWriteKeys {
			if _, err := ring.Rotate(ctx, api.KeyWrite); err != nil {
				t.Fatal(err)
			}
			a.clock.Add(time.Hour)
		}
		before := ring.Keys().Write
		_, err := ring.Rotate(ctx, api.KeyWrite)
		if smsflow.ErrorCode(err) != smsflow.ECONFLICT || !strings.Contains(smsflow.ErrorMessage(err), "rotate again after") {
			t.Fatalf("a rotation with %d keys in their grace: %v, want a conflict saying when", api.MaxPreviousWriteKeys, err)
		}
		if got := ring.Keys().Write; got != before {
			t.Error("a refused rotation changed the write key")
		}
		a.clock.Add(20 * time.Hour) // the oldest of them is out of its grace
		if _, err := ring.Rotate(ctx, api.KeyWrite); err != nil {
			t.Errorf("a rotation once the oldest grace ended: %v", err)
		}
	})
}

func TestRotatedServerAndAdminKeysChangeAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, ring := keyringAPI(t, db, api.Keys{}, nil)
		old := ring.Keys()
		for _, name := range []string{api.KeyServer, api.KeyAdmin} {
			if _, err := ring.Rotate(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		now := ring.Keys()
		if got := a.track(old.Server); got != 401 {
			t.Errorf("the old server key after its rotation: %d, want 401", got)
		}
		if got := a.track(now.Server); got != 200 {
			t.Errorf("the new server key: %d, want 200", got)
		}
		get := func(key string) int {
			req, _ := http.NewRequest("GET", a.url+"/v1/flows", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := get(old.Admin); got != 401 {
			t.Errorf("the old admin key after its rotation: %d, want 401", got)
		}
		if got := get(now.Admin); got == 401 || got == 403 {
			t.Errorf("the new admin key: %d, want it let in", got)
		}
	})
}

func TestConfiguredKeyCannotBeRotated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, ring := keyringAPI(t, db, api.Keys{Admin: "ak_from_env"}, map[string]string{api.KeyAdmin: "the environment (SMSFLOW_ADMIN_KEY)"})
		_, err := ring.Rotate(ctx, api.KeyAdmin)
		if smsflow.ErrorCode(err) != smsflow.ECONFLICT || !strings.Contains(smsflow.ErrorMessage(err), "SMSFLOW_ADMIN_KEY") {
			t.Fatalf("rotating a configured key: %v, want a conflict naming SMSFLOW_ADMIN_KEY", err)
		}
		if ring.Keys().Admin != "ak_from_env" {
			t.Errorf("the configured admin key changed to %q", ring.Keys().Admin)
		}
		if _, err := ring.Rotate(ctx, "root"); smsflow.ErrorCode(err) != smsflow.EINVALID {
			t.Errorf("rotating an unknown key: %v, want invalid", err)
		}
		if _, err := ring.Rotate(ctx, api.KeyServer); err != nil {
			t.Errorf("a stored key next to a configured one: %v, want it rotated", err)
		}
	})
}
