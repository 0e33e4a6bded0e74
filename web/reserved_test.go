package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The id new is refused at creation (D100): /flows/new is the new-flow
// page, so a flow called new could never be opened. The editor and the
// API (Catalog.Save) say so; another id saves.
func TestNewIsNoFlowID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		p.Catalog = engine.NewCatalog(db)
		if err := p.Catalog.Load(bg); err != nil {
			t.Fatal(err)
		}
		src := "id: new\nname: New\ncategory: service\ntrigger:\n  event: Order Placed\nsteps:\n  - id: hi\n    send: \"Hi\"\n"
		code, body, _ := p.post(t, "/flows/new", url.Values{"yaml": {src}})
		if code != 422 || !strings.Contains(body, "The id new is reserved") {
			t.Errorf("creating flow new in the editor: %d, want 422 saying the id is reserved", code)
		}
		_, _, err := p.Catalog.Save(bg, "new", []byte(src), p.clock.Now())
		if smsflow.ErrorCode(err) != smsflow.EINVALID || !strings.Contains(smsflow.ErrorMessage(err), "reserved") {
			t.Errorf("Catalog.Save(new): %v, want invalid: reserved", err)
		}
		if _, ok := p.Catalog.Head("new"); ok {
			t.Error("a flow new was stored")
		}
		src = strings.Replace(src, "id: new", "id: fresh", 1)
		if _, _, err := p.Catalog.Save(bg, "fresh", []byte(src), p.clock.Now()); err != nil {
			t.Errorf("another id: %v", err)
		}
	})
}
