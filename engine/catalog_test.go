package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The name checks apply to new definitions (the API, files, validate); a
// version stored before them still loads, so its runs finish (issue 17).
func TestStoredVersionsLoadDespiteTheNameChecks(t *testing.T) {
	src := "id: old\ncategory: service\ntrigger: {event: E, where: 'contact.trait.vip == true'}\nsteps:\n  - send: \"Hi {{ contact.trait.first_name | default: 'you' }}, you said {{ reply.txt | default: '' }}\"\n"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		if _, _, err := db.SaveFlow(ctx, "old", "h-old", src, "old.yaml", engine.OriginAPI, engine.FlowActive, now); err != nil {
			t.Fatal(err)
		}
		cat := engine.NewCatalog(db)
		if err := cat.Load(ctx); err != nil {
			t.Fatalf("a stored version with names the validator now refuses does not load: %v", err)
		}
		if comp, err := cat.Version(ctx, "old", 1); err != nil || comp.Templates["step-1"] == nil {
			t.Fatalf("version 1: %v", err)
		}
		_, problems, err := cat.Save(ctx, "old", []byte(strings.Replace(src, "service", "lifecycle", 1)), now)
		var got []string
		for _, p := range problems {
			if p.Severity == "error" {
				got = append(got, p.String())
			}
		}
		want := []string{
			"old.yaml:3:37: trigger where: unknown field `trait` of contact (did you mean `traits`?)",
			"old.yaml:5:26: unknown field `trait` of contact (did you mean `traits`?)",
			"old.yaml:5:82: unknown field `txt` of reply (did you mean `text`?)",
		}
		if err == nil || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("a new version through the API: %v\n%s\nwant\n%s", err, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
