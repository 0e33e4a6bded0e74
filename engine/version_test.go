package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

func versionedFlow(text string) string {
	return `id: notice
category: service
trigger:
  event: Ping
entry:
  reentry: 1s
steps:
  - wait: 1h
  - id: say
    send: "` + text + `"
`
}

func TestRunsFinishOnTheVersionTheyEntered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, versionedFlow("version one"))
		w.identify("ana", "+1 415 555 0100")
		w.identify("bob", "+1 415 555 0101")
		w.track("ana", "Ping", nil)
		// Edit the flow while ana waits; an identical save makes no version.
		cat := w.eng.Catalog()
		h1, _, err := cat.Save(ctx, "notice", []byte(versionedFlow("version two")), w.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		h2, _, err := cat.Save(ctx, "notice", []byte(versionedFlow("version two")+"# a comment\n"), w.clock.Now())
		if err != nil || h2.Version != h1.Version || h1.Version != 2 || h1.Status != engine.FlowActive {
			t.Fatalf("versions %+v %+v %v", h1, h2, err)
		}
		w.track("bob", "Ping", nil)
		w.advance(2 * time.Hour)
		got := map[string]string{}
		for _, m := range w.cons.Recent() {
			got[m.ContactID] = m.Body
		}
		if got["ana"] != "version one" || got["bob"] != "version two" {
			t.Errorf("bodies %v: ana entered v1 and must finish on it; bob entered v2", got)
		}
		runs, _ := db.RunsByContact(ctx, "ana", false)
		if len(runs) != 1 || runs[0].FlowVersion != 1 || !strings.HasPrefix(runs[0].Status, "completed") {
			t.Errorf("ana's run %+v", runs[0])
		}
	})
}
