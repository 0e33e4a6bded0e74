package engine_test

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const vipFlow = `id: vip
category: promo
trigger:
  segment: {where: 'contact.traits.vip == true', at: "2026-03-10T10:00", local: true}
exit:
  - event: Order Completed
steps:
  - id: early
    send: "VIP early access is open"
`

func TestLocalAudienceEntersAtTenInEachZone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, vipFlow)
		for _, c := range []struct{ id, phone string }{{"la", "+1 415 555 0100"}, {"ny", "+1 212 555 0100"}, {"no", "+1 305 555 0100"}} {
			w.identify(c.id, c.phone)
			w.subscribe(c.id)
		}
		w.track("la", "Noop", nil)
		for _, id := range []string{"la", "ny"} {
			w.seq++
			w.submitTraits(id, map[string]any{"vip": true})
		}
		w.advance(9 * 24 * time.Hour) // to 2026-03-11 15:00 UTC: past 10:00 everywhere
		sentAt := map[string]time.Time{}
		for _, tr := range w.traces {
			if tr.Kind == "send" {
				sentAt[tr.ContactID] = tr.Time
			}
		}
		// 10:00 EDT (after the 2026-03-08 change) = 14:00 UTC; 10:00 PDT = 17:00 UTC.
		if got, want := sentAt["ny"], time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("ny sent at %v, want %v", got, want)
		}
		if got, want := sentAt["la"], time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("la sent at %v, want %v", got, want)
		}
		if _, ok := sentAt["no"]; ok {
			t.Error("non-VIP contact entered the audience")
		}
	})
}
