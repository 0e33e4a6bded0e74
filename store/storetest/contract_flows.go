package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

func saveFlow(t testing.TB, db *store.DB, id, hash, origin, status string, at time.Time) (store.FlowHead, bool) {
	t.Helper()
	h, created, err := db.SaveFlow(bg, id, hash, "source "+hash, id+".yaml", origin, status, at)
	if err != nil {
		t.Fatal(err)
	}
	return h, created
}

func flowCases() []contractCase {
	return []contractCase{
		{"DB.SaveFlow", func(t *testing.T, db *store.DB) {
			h, created := saveFlow(t, db, "welcome", "h1", "file", "active", t0)
			equal(t, "new flow", h, store.FlowHead{ID: "welcome", Version: 1, Origin: "file", Status: "active", Hash: "h1", Source: "source h1", File: "welcome.yaml", UpdatedAt: t0})
			equal(t, "created", created, true)
			h, created = saveFlow(t, db, "welcome", "h1", "api", "paused", t0.Add(time.Minute))
			equal(t, "same content: no new version (origin follows)", []any{h.Version, h.Origin, h.Status, created}, []any{1, "api", "active", false})
			must(0, db.SetFlowStatus(bg, "welcome", "paused", t0))(t)
			h, created = saveFlow(t, db, "welcome", "h2", "api", "active", t0.Add(2*time.Minute))
			equal(t, "new content: next version, status kept", []any{h.Version, h.Status, created}, []any{2, "paused", true})
			must(db.ArchiveFlow(bg, "welcome", t0))(t)
			h, created = saveFlow(t, db, "welcome", "h2", "api", "active", t0.Add(3*time.Minute))
			equal(t, "archived, saved again: back as a new version", []any{h.Version, h.Status, created}, []any{3, "active", true})
			equal(t, "versions", len(must(db.FlowVersions(bg))(t)), 3)
		}},
		{"DB.SetFlowStatus", func(t *testing.T, db *store.DB) {
			saveFlow(t, db, "welcome", "h1", "file", "active", t0)
			must(0, db.SetFlowStatus(bg, "welcome", "paused", t0.Add(time.Minute)))(t)
			heads := must(db.FlowHeads(bg))(t)
			equal(t, "paused", []any{heads[0].Status, heads[0].UpdatedAt}, []any{"paused", t0.Add(time.Minute)})
			if err := db.SetFlowStatus(bg, "nope", "paused", t0); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				t.Errorf("a missing flow: %v, want not_found", err)
			}
			must(db.ArchiveFlow(bg, "welcome", t0))(t)
			if err := db.SetFlowStatus(bg, "welcome", "active", t0); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				t.Errorf("an archived flow: %v, want not_found", err)
			}
		}},
		{"DB.FlowHeads", func(t *testing.T, db *store.DB) {
			equal(t, "none", must(db.FlowHeads(bg))(t), []store.FlowHead(nil))
			saveFlow(t, db, "welcome", "h1", "file", "active", t0)
			saveFlow(t, db, "welcome", "h2", "file", "active", t0)
			saveFlow(t, db, "abandon", "h9", "example", "active", t0)
			must(db.ArchiveFlow(bg, "abandon", t0))(t)
			var got []string
			for _, h := range must(db.FlowHeads(bg))(t) {
				got = append(got, h.ID+"/"+h.Hash+"/"+h.Status)
			}
			equal(t, "heads by id, archived ones too", got, []string{"abandon/h9/archived", "welcome/h2/active"})
		}},
		{"DB.FlowSource", func(t *testing.T, db *store.DB) {
			saveFlow(t, db, "welcome", "h1", "file", "active", t0)
			saveFlow(t, db, "welcome", "h2", "file", "active", t0)
			src, file, err := db.FlowSource(bg, "welcome", 1)
			equal(t, "version 1", []any{src, file, err}, []any{"source h1", "welcome.yaml", error(nil)})
			if _, _, err := db.FlowSource(bg, "welcome", 3); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				t.Errorf("a missing version: %v, want not_found", err)
			}
		}},
		{"DB.FlowVersions", func(t *testing.T, db *store.DB) {
			saveFlow(t, db, "welcome", "h1", "file", "active", t0)
			saveFlow(t, db, "abandon", "h1", "file", "active", t0)
			saveFlow(t, db, "welcome", "h2", "file", "active", t0)
			equal(t, "versions by id and number", must(db.FlowVersions(bg))(t), []store.FlowVersion{{ID: "abandon", Version: 1}, {ID: "welcome", Version: 1}, {ID: "welcome", Version: 2}})
		}},
		{"DB.ArchiveFlow", func(t *testing.T, db *store.DB) {
			saveFlow(t, db, "welcome", "h1", "file", "active", t0)
			open := addRun(t, db, smsflow.Run{ContactID: "ana"})
			done := addRun(t, db, smsflow.Run{ContactID: "bob", Status: smsflow.RunCompleted})
			other := addRun(t, db, smsflow.Run{ContactID: "cy", FlowID: "promo"})
			q := addMessage(t, db, smsflow.Message{RunID: open.ID, StepID: "hi", ContactID: "ana"})
			s := addMessage(t, db, smsflow.Message{RunID: done.ID, StepID: "hi", ContactID: "bob", Status: "sent"})
			addMessage(t, db, smsflow.Message{RunID: other.ID, StepID: "hi", ContactID: "cy", FlowID: "promo"})
			equal(t, "what ended", must(db.ArchiveFlow(bg, "welcome", t0.Add(time.Hour)))(t), store.Archived{Runs: 1, Messages: 1})
			gq := messageByID(t, db, q.ID)
			equal(t, "queued message", gq.Status+"/"+gq.ErrorCode, "canceled/flow_archived")
			equal(t, "sent message", messageByID(t, db, s.ID).Status, "sent")
			write(t, db, func(tx *store.Tx) error {
				r := must(tx.RunByID(open.ID))(t)
				equal(t, "open run", []any{r.Status, r.ExitReason, r.WakeAt, r.EndedAt}, []any{smsflow.RunExited, "flow_archived", time.Time{}, t0.Add(time.Hour)})
				equal(t, "ended run", must(tx.RunByID(done.ID))(t).Status, smsflow.RunCompleted)
				equal(t, "another flow's run", must(tx.RunByID(other.ID))(t).Status, smsflow.RunWaiting)
				return nil
			})
			d := must(db.Decisions(bg, "ana", 10))(t)
			if len(d) != 1 || d[0].Reason != smsflow.DecisionCanceledFlowArchived || d[0].RunID != open.ID {
				t.Errorf("decisions %+v, want one canceled:flow_archived", d)
			}
			equal(t, "head", must(db.FlowHeads(bg))(t)[0].Status, "archived")
			if _, err := db.ArchiveFlow(bg, "welcome", t0); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				t.Errorf("archived twice: %v, want not_found", err)
			}
		}},
		{"DB.FlowEntries", func(t *testing.T, db *store.DB) {
			saveFlow(t, db, "welcome", "h1", "file", "active", t0)
			saveFlow(t, db, "promo", "h1", "file", "active", t0)
			addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0})
			addRun(t, db, smsflow.Run{ContactID: "bob", EnteredAt: t0.Add(time.Hour), FlowVersion: 2, Holdout: true, Status: smsflow.RunCompleted})
			addRun(t, db, smsflow.Run{ContactID: "cy", EnteredAt: t0.Add(-time.Hour)})
			addRun(t, db, smsflow.Run{ContactID: "cy", FlowID: "gone", EnteredAt: t0})
			equal(t, "entries since", must(db.FlowEntries(bg, t0))(t), map[string]int64{"welcome": 2, "promo": 0})
		}},
	}
}

func nodeCases() []contractCase {
	flows := []store.NodeFlow{{FlowID: "welcome", Hash: "h1", File: "welcome.yaml", Origin: "file"}, {FlowID: "abandon", Hash: "h2", File: "", Origin: "example"}}
	return []contractCase{
		{"DB.RecordNodeFlows", func(t *testing.T, db *store.DB) {
			must(0, db.RecordNodeFlows(bg, "old", "dir", flows[:1], t0.Add(-time.Hour), t0.Add(-2*time.Hour)))(t)
			must(0, db.RecordNodeFlows(bg, "n1", "dir", flows, t0, t0.Add(-2*time.Hour)))(t)
			must(0, db.RecordNodeFlows(bg, "n1", "dir", flows[1:], t0, t0.Add(-2*time.Hour)))(t) // replaced
			equal(t, "loaded", must(db.LoadedFlows(bg, t0.Add(-3*time.Hour)))(t), []store.LoadedFlow{{NodeFlow: flows[1], Node: "n1"}, {NodeFlow: flows[0], Node: "old"}})
			// A node whose heartbeat is older than forgetBefore is forgotten.
			must(0, db.RecordNodeFlows(bg, "n2", "dir", nil, t0, t0.Add(-30*time.Minute)))(t)
			equal(t, "old node forgotten", must(db.LoadedFlows(bg, t0.Add(-3*time.Hour)))(t), []store.LoadedFlow{{NodeFlow: flows[1], Node: "n1"}})
			equal(t, "its heartbeat", must(db.HeartbeatNode(bg, "old", t0))(t), false)
		}},
		{"DB.HeartbeatNode", func(t *testing.T, db *store.DB) {
			equal(t, "unknown node", must(db.HeartbeatNode(bg, "n1", t0))(t), false)
			must(0, db.RecordNodeFlows(bg, "n1", "dir", flows, t0.Add(-time.Hour), t0.Add(-2*time.Hour)))(t)
			equal(t, "before: not live since t0", len(must(db.LoadedFlows(bg, t0))(t)), 0)
			equal(t, "known node", must(db.HeartbeatNode(bg, "n1", t0))(t), true)
			equal(t, "after: live", len(must(db.LoadedFlows(bg, t0))(t)), 2)
		}},
		{"DB.RemoveNode", func(t *testing.T, db *store.DB) {
			must(0, db.RecordNodeFlows(bg, "n1", "dir", flows, t0, t0.Add(-time.Hour)))(t)
			must(0, db.RecordNodeFlows(bg, "n2", "dir", flows[:1], t0, t0.Add(-time.Hour)))(t)
			must(0, db.RemoveNode(bg, "n1"))(t)
			equal(t, "left", must(db.LoadedFlows(bg, t0))(t), []store.LoadedFlow{{NodeFlow: flows[0], Node: "n2"}})
			equal(t, "its heartbeat", must(db.HeartbeatNode(bg, "n1", t0))(t), false)
		}},
		{"DB.LoadedFlows", func(t *testing.T, db *store.DB) {
			equal(t, "none", must(db.LoadedFlows(bg, t0))(t), []store.LoadedFlow(nil))
			must(0, db.RecordNodeFlows(bg, "b", "dir", flows, t0, t0.Add(-time.Hour)))(t)
			must(0, db.RecordNodeFlows(bg, "a", "dir", flows[:1], t0, t0.Add(-time.Hour)))(t)
			must(0, db.RecordNodeFlows(bg, "stale", "dir", flows, t0.Add(-time.Minute), t0.Add(-time.Hour)))(t)
			equal(t, "live nodes' flows by flow then node", must(db.LoadedFlows(bg, t0))(t),
				[]store.LoadedFlow{{NodeFlow: flows[1], Node: "b"}, {NodeFlow: flows[0], Node: "a"}, {NodeFlow: flows[0], Node: "b"}})
		}},
	}
}
