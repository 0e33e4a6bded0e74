package web

import (
	"log/slog"
	"testing"
	"time"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store/storetest"
)

// Stop ends the figures' background refresh and starts no new one, so
// nothing reads the database once smsflow serve has closed it (D100):
// the flows list then logs no "database is closed" warnings.
func TestStopEndsTheFiguresRefresh(t *testing.T) {
	db := storetest.OpenSQLite(t)
	logs := &testkit.LogBuffer{}
	clock := testkit.NewClock(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC))
	cat := engine.NewCatalog(db)
	if _, problems, err := cat.Save(bg, "ask", []byte(askFlow), clock.Now()); err != nil {
		t.Fatalf("save: %v %v", err, problems)
	}
	if err := cat.Load(bg); err != nil {
		t.Fatal(err)
	}
	u := New(Deps{Config: config.Config{DefaultRegion: "US"}, DB: db, Clock: clock, AdminKey: "ak_test", Catalog: cat,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	if _, at := u.figures(bg); at.IsZero() {
		t.Fatal("no figures computed")
	}
	clock.Add(2 * figuresTTL) // the next list would refresh them
	u.Stop()
	u.Stop() // twice is fine
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	figs, at := u.figures(bg) // a request that slipped in after Stop
	if e := u.figs.entries[""]; e == nil || e.running != nil {
		t.Error("a refresh started after Stop")
	}
	if at.IsZero() || figs == nil {
		t.Error("after Stop the list lost the figures it had")
	}
	u.background.Wait()
	if n := logs.Count("level=WARN"); n != 0 {
		t.Errorf("%d warnings after Stop:\n%s", n, logs.String())
	}
}
