package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/report"
)

// The flow page (issue 20, D93): one flow's graph with each node's counts
// for a period, a node's recent decisions, the version history with a diff
// between two versions, and the flow report drawn as charts. Every number
// comes from the report package, the code behind GET /v1/flows/{id}/report.

// periods are the windows the page offers, in days; defaultPeriod is the
// report API's default window.
var periods = []int{7, 30, 90}

const defaultPeriod = 30

// activityLimit is how many of a step's recent decisions the drill-down
// lists.
const activityLimit = 50

type periodLink struct {
	Days    int
	Href    string
	Current bool
}

// stepRow is one node's figures as a table row: the graph's numbers for
// people who read tables (and phones).
type stepRow struct {
	ID, Kind, Href string
	Counts         []countLine
}

type versionRow struct {
	Version int
	Current bool
}

type variantRow struct {
	report.Variant
	PValueText string
}

type flowData struct {
	ID, Name, Status, Origin, HeldReason string
	Category                             string
	Version, Priority                    int
	Days                                 int
	Periods                              []periodLink
	From, To                             string // the window, as dates
	Report                               *report.FlowReport
	Graph                                template.HTML
	Steps                                []stepRow
	// Step is the node whose activity is listed (?step=); Activity its
	// last decisions.
	Step     string
	StepKind string
	Activity []report.Activity
	// Versions, newest first; A and B are the diffed pair (?a=&b=).
	Versions []versionRow
	A, B     int
	Diff     []diffOp
	Changed  int // lines added or removed
	// The report's charts and tables.
	Funnel, Conversions, Revenue, LiftChart template.HTML
	Variants                                []variantRow
	Exits                                   []exitRow
	CSVHref                                 string
}

type exitRow struct {
	Reason string
	N      int64
}

// flowHead finds the flow of the request's {id}, answering 404 when there
// is none.
func (u *UI) flowHead(w http.ResponseWriter, r *http.Request) (h headInfo, ok bool) {
	head, found := u.Catalog.Head(r.PathValue("id"))
	if !found || head.Status == engine.FlowArchived {
		u.fail(w, r, http.StatusNotFound, "There is no flow "+r.PathValue("id")+". The flows list shows every flow.")
		return h, false
	}
	return headInfo{ID: head.ID, Version: head.Version, Status: head.Status, Origin: head.Origin}, true
}

type headInfo struct {
	ID, Status, Origin string
	Version            int
}

// periodOf reads ?days= (7, 30 or 90; 30 when absent) and turns it into
// the report window ending now.
func (u *UI) periodOf(r *http.Request) (days int, from, to time.Time, err error) {
	days = defaultPeriod
	if s := r.URL.Query().Get("days"); s != "" {
		n, convErr := strconv.Atoi(s)
		if convErr != nil || !validPeriod(n) {
			return 0, from, to, fmt.Errorf("the period must be 7, 30 or 90 days")
		}
		days = n
	}
	to = u.now().UTC()
	return days, to.Add(-time.Duration(days) * 24 * time.Hour), to, nil
}

func validPeriod(n int) bool {
	for _, p := range periods {
		if n == p {
			return true
		}
	}
	return false
}

// flowReport builds the flow's report for the window as the API does.
func (u *UI) flowReport(r *http.Request, id string, version int, from, to time.Time) (*report.FlowReport, *flow.Flow, error) {
	price, err := report.ParseSegmentPrice(u.Config.SegmentPrice)
	if err != nil {
		return nil, nil, err
	}
	opt := report.Options{SegmentPrice: price}
	comp, err := u.Catalog.Version(r.Context(), id, version)
	if err == nil {
		opt.Flow = comp.Flow
	}
	rep, err := report.Flow(r.Context(), u.DB, id, from, to, opt)
	return rep, opt.Flow, err
}

// flow draws the flow page.
func (u *UI) flow(w http.ResponseWriter, r *http.Request) {
	h, ok := u.flowHead(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	days, from, to, err := u.periodOf(r)
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, "The period must be 7, 30 or 90 days; the buttons above the graph choose one.")
		return
	}
	d := flowData{ID: h.ID, Name: h.ID, Status: h.Status, Origin: h.Origin, Version: h.Version, Days: days,
		HeldReason: u.Catalog.HeldReason(h.ID), From: from.Format("2006-01-02"), To: to.Format("2006-01-02")}
	for _, p := range periods {
		d.Periods = append(d.Periods, periodLink{Days: p, Href: fmt.Sprintf("/flows/%s?days=%d", url.PathEscape(h.ID), p), Current: p == days})
	}
	d.CSVHref = fmt.Sprintf("/flows/%s/report.csv?days=%d", url.PathEscape(h.ID), days)

	// The report, the decisions by reason and the days are independent
	// reads of the reader pool: they run at the same time (D93).
	var (
		rep       *report.FlowReport
		def       *flow.Flow
		decisions map[string]map[string]int64
		flowDays  []report.FlowDay
		errs      [3]error
		wg        sync.WaitGroup
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		decisions, errs[1] = report.StepDecisions(r.Context(), u.DB, h.ID, from, to)
	}()
	go func() {
		defer wg.Done()
		flowDays, errs[2] = report.FlowDays(r.Context(), u.DB, h.ID, from, to)
	}()
	rep, def, errs[0] = u.flowReport(r, h.ID, h.Version, from, to)
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		u.Log.Error("web: flow report", "flow", h.ID, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The flow's report could not be read; the log says why.")
		return
	}
	d.Report = rep
	if def != nil {
		if def.Name != "" {
			d.Name = def.Name
		}
		d.Category, d.Priority = string(def.Category), def.Priority
		counts := nodeCounts(def, rep, decisions)
		g := buildFlowGraph(def, counts, stepHref(h.ID, days))
		g.layout()
		d.Graph = g.svg("Steps of " + d.Name + " with their counts for the last " + strconv.Itoa(days) + " days")
		for _, n := range g.Nodes {
			if n.dummy {
				continue
			}
			d.Steps = append(d.Steps, stepRow{ID: n.ID, Kind: n.Title, Href: n.Href, Counts: n.Counts})
		}
	}

	// The drill-down: ?step= names a step of the flow (or of an older
	// version, still in the report).
	if step := q.Get("step"); step != "" {
		if !knownStep(def, rep, step) {
			u.fail(w, r, http.StatusNotFound, "The flow "+h.ID+" has no step "+step+". Click a step in the graph to see its messages.")
			return
		}
		d.Step = step
		if def != nil && def.Step(step) != nil {
			d.StepKind = string(def.Step(step).Kind)
		}
		if d.Activity, err = report.StepActivity(r.Context(), u.DB, h.ID, step, activityLimit); err != nil {
			u.Log.Error("web: step activity", "flow", h.ID, "step", step, "err", err)
			u.fail(w, r, http.StatusInternalServerError, "The step's messages could not be read; the log says why.")
			return
		}
	}

	if err := u.versions(r, &d); err != nil {
		if smsflow.ErrorCode(err) == smsflow.EINVALID {
			u.fail(w, r, http.StatusBadRequest, smsflow.ErrorMessage(err))
			return
		}
		u.Log.Error("web: flow versions", "flow", h.ID, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The flow's versions could not be read; the log says why.")
		return
	}

	d.Funnel = funnelChart(rep)
	d.Conversions, d.Revenue = dayCharts(flowDays)
	d.LiftChart = liftChart(rep.Lift)
	for _, v := range rep.Variants {
		row := variantRow{Variant: v, PValueText: "–"}
		if v.PValue != nil {
			row.PValueText = strconv.FormatFloat(*v.PValue, 'f', 4, 64)
		}
		d.Variants = append(d.Variants, row)
	}
	for reason, n := range rep.Totals.Exited {
		d.Exits = append(d.Exits, exitRow{Reason: reason, N: n})
	}
	sort.Slice(d.Exits, func(i, j int) bool { return d.Exits[i].Reason < d.Exits[j].Reason })

	u.render(w, r, http.StatusOK, "flow", page{Title: d.Name, Nav: "flows", Data: d})
}

// knownStep reports whether step is a step of the flow or of the report
// (a step only older versions had).
func knownStep(def *flow.Flow, rep *report.FlowReport, step string) bool {
	if def != nil && def.Step(step) != nil {
		return true
	}
	for _, s := range rep.Steps {
		if s.StepID == step {
			return true
		}
	}
	return false
}

// nodeCounts gives each node of the graph its figures: the trigger the
// runs that entered (and the holdout), each send step its report counters
// and its skipped and deferred decisions by reason, each exit step and the
// end the runs that ended there.
func nodeCounts(def *flow.Flow, rep *report.FlowReport, decisions map[string]map[string]int64) map[string][]countLine {
	out := map[string][]countLine{}
	t := rep.Totals
	out[nodeTrigger] = []countLine{{Key: "entered", Label: "Entered", Value: t.Entered}}
	if t.Holdout > 0 {
		out[nodeTrigger] = append(out[nodeTrigger], countLine{Key: "holdout", Label: "Holdout", Value: t.Holdout, Muted: true})
	}
	if def.Goal != nil {
		out[nodeTrigger] = append(out[nodeTrigger], countLine{Key: "converted", Label: "Converted", Value: t.Conversions})
	}
	out[nodeEnd] = []countLine{{Key: "completed", Label: "Completed", Value: t.Exited["completed"]}}
	steps := map[string]report.Step{}
	for _, s := range rep.Steps {
		steps[s.StepID] = s
	}
	for _, s := range def.AllSteps() {
		switch s.Kind {
		case flow.StepSend:
			c := steps[s.ID].Counters
			lines := []countLine{
				{Key: "entered", Label: "Entered", Value: c.Entered},
				{Key: "sent", Label: "Sent", Value: c.Sent},
				{Key: "delivered", Label: "Delivered", Value: c.Delivered},
				{Key: "clicked", Label: "Clicked", Value: c.ClicksUnique},
				{Key: "replied", Label: "Replied", Value: c.Replies},
				{Key: "opted_out", Label: "Opted out", Value: c.OptOuts},
				{Key: "converted", Label: "Converted", Value: c.Conversions},
			}
			var reasons []string
			for reason := range decisions[s.ID] {
				reasons = append(reasons, reason)
			}
			sort.Strings(reasons)
			for _, reason := range reasons {
				lines = append(lines, countLine{Key: reason, Label: reason, Value: decisions[s.ID][reason], Muted: true})
			}
			out[s.ID] = lines
		case flow.StepExit:
			out[s.ID] = []countLine{{Key: "exited", Label: "Exited", Value: t.Exited[s.Exit]}}
		}
	}
	return out
}

// versions lists the flow's versions and, with ?a=&b= (else the previous
// and the current version), diffs two of them.
func (u *UI) versions(r *http.Request, d *flowData) error {
	all, err := u.DB.FlowVersions(r.Context())
	if err != nil {
		return err
	}
	var nums []int
	for _, v := range all {
		if v.ID == d.ID {
			nums = append(nums, v.Version)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(nums)))
	for _, v := range nums {
		d.Versions = append(d.Versions, versionRow{Version: v, Current: v == d.Version})
	}
	if len(nums) < 2 {
		return nil
	}
	q := r.URL.Query()
	d.A, d.B = nums[1], nums[0]
	for _, p := range []struct {
		name string
		dst  *int
	}{{"a", &d.A}, {"b", &d.B}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || !containsInt(nums, n) {
			return smsflow.Errorf(smsflow.EINVALID, "The flow %s has no version %q to compare; pick versions from the lists under Versions.", d.ID, s)
		}
		*p.dst = n
	}
	a, _, err := u.DB.FlowSource(r.Context(), d.ID, d.A)
	if err != nil {
		return err
	}
	b, _, err := u.DB.FlowSource(r.Context(), d.ID, d.B)
	if err != nil {
		return err
	}
	d.Diff = lineDiff(a, b)
	for _, op := range d.Diff {
		if op.Op != ' ' {
			d.Changed++
		}
	}
	return nil
}

func containsInt(s []int, n int) bool {
	for _, v := range s {
		if v == n {
			return true
		}
	}
	return false
}

// flowCSV serves /flows/{id}/report.csv?days=: the report's step table as
// GET /v1/flows/{id}/report?format=csv writes it.
func (u *UI) flowCSV(w http.ResponseWriter, r *http.Request) {
	h, ok := u.flowHead(w, r)
	if !ok {
		return
	}
	_, from, to, err := u.periodOf(r)
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, "The period must be 7, 30 or 90 days.")
		return
	}
	rep, _, err := u.flowReport(r, h.ID, h.Version, from, to)
	if err != nil {
		u.Log.Error("web: flow report", "flow", h.ID, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The flow's report could not be read; the log says why.")
		return
	}
	var buf bytes.Buffer
	if err := report.WriteStepsCSV(&buf, rep); err != nil {
		u.Log.Error("web: flow csv", "flow", h.ID, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The report could not be written as CSV; the log says why.")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.csv"`, h.ID, from.Format("2006-01-02"), to.Format("2006-01-02")))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// Rate writes a report rate ("12.5%"), "–" when it is undefined.
func (flowData) Rate(v *float64) string { return pct(v) }

// Money writes an amount, "–" when it is undefined.
func (flowData) Money(v *float64) string {
	if v == nil {
		return "–"
	}
	return money(*v)
}

// Points writes a rate difference in percentage points.
func (flowData) Points(v *float64) string {
	if v == nil {
		return "–"
	}
	return pctPoints(*v)
}

// Interval writes a [low, high] rate-difference interval.
func (flowData) Interval(ci []float64) string {
	if len(ci) != 2 {
		return "–"
	}
	return pctPoints(ci[0]) + " to " + pctPoints(ci[1])
}

// PValue writes a p-value with four decimals.
func (flowData) PValue(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}
