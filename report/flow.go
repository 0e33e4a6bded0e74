package report

import (
	"context"
	"errors"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
)

// Options tune a flow report.
type Options struct {
	// SegmentPrice is the price of one SMS segment; cost = segments ×
	// SegmentPrice. 0 (the default) reports a cost of 0.
	SegmentPrice float64
	// Flow is the definition that orders steps and variants. nil loads the
	// flow's current version from the database.
	Flow *flow.Flow
}

// Counters are the measurement numbers shared by the whole flow and each
// send step (README "Reports" defines every one). Rates are nil (JSON null)
// when their denominator is 0.
type Counters struct {
	Entered               int64    `json:"entered"`
	Sent                  int64    `json:"sent"`
	Delivered             int64    `json:"delivered"`
	Failed                int64    `json:"failed"`
	Segments              int64    `json:"segments"`
	Cost                  float64  `json:"cost"`
	ClicksUnique          int64    `json:"clicks_unique"`
	CTR                   *float64 `json:"ctr"`
	Replies               int64    `json:"replies"`
	OptOuts               int64    `json:"opt_outs"`
	OptOutRate            *float64 `json:"opt_out_rate"`
	Conversions           int64    `json:"conversions"`
	ConversionRate        *float64 `json:"conversion_rate"`
	Revenue               float64  `json:"revenue"`
	RevenuePerRecipient   *float64 `json:"revenue_per_recipient"`
	AOV                   *float64 `json:"aov"`
	MessagesPerConversion *float64 `json:"messages_per_conversion"`
	MedianTimeToClickS    *float64 `json:"median_time_to_click_s"`
}

// Totals are the flow's counters over every run entered in the window,
// holdout runs included, with the holdout size and the runs that ended.
type Totals struct {
	Counters
	Holdout int64 `json:"holdout"`
	// Exited counts ended runs by exit reason; runs that walked off the end
	// of their steps count as "completed".
	Exited map[string]int64 `json:"exited"`
}

// Step is one send step's counters (treatment runs only; see README).
type Step struct {
	StepID string `json:"step_id"`
	// Removed marks a step that is not in the flow's current version (runs
	// of an older version sent it).
	Removed bool `json:"removed,omitempty"`
	Counters
}

// Variant is one arm of a split: non-holdout runs whose (last) split
// variant is Name.
type Variant struct {
	Name                string   `json:"name"`
	Entered             int64    `json:"entered"`
	Conversions         int64    `json:"conversions"`
	ConversionRate      *float64 `json:"conversion_rate"`
	Revenue             float64  `json:"revenue"`
	RevenuePerRecipient *float64 `json:"revenue_per_recipient"`
	// PValue is the two-sided two-proportion z-test of this variant's
	// conversion rate against the first variant's; nil for the first
	// variant and when there is not enough data (Note says why).
	PValue *float64 `json:"p_value"`
	Note   string   `json:"note,omitempty"`
}

// Group is one side of the holdout comparison.
type Group struct {
	Entered             int64    `json:"entered"`
	Conversions         int64    `json:"conversions"`
	Revenue             float64  `json:"revenue"`
	ConversionRate      *float64 `json:"conversion_rate"`
	RevenuePerRecipient *float64 `json:"revenue_per_recipient"`
}

// Lift compares everyone assigned to the flow (treatment) with the holdout
// (control), intent to treat: conversion rate difference with its 95%
// Newcombe interval and the z-test p-value, and revenue per recipient.
type Lift struct {
	Treatment                    Group    `json:"treatment"`
	Control                      Group    `json:"control"`
	TreatmentRate                *float64 `json:"treatment_rate"`
	ControlRate                  *float64 `json:"control_rate"`
	TreatmentRevenuePerRecipient *float64 `json:"treatment_revenue_per_recipient"`
	ControlRevenuePerRecipient   *float64 `json:"control_revenue_per_recipient"`
	Comparison
}

// FlowReport is the measurement report of one flow over [From, To).
type FlowReport struct {
	FlowID       string    `json:"flow_id"`
	Name         string    `json:"name,omitempty"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	SegmentPrice float64   `json:"segment_price"`
	Totals       Totals    `json:"totals"`
	Steps        []Step    `json:"steps"`
	Variants     []Variant `json:"variants"`
	Lift         Lift      `json:"lift"`
}

// Flow builds the report of flowID for the runs entered in [from, to).
// Everything is attributed to that cohort of runs, whenever it happened.
func Flow(ctx context.Context, db Store, flowID string, from, to time.Time, opt Options) (*FlowReport, error) {
	if !from.Before(to) {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "from", "from must be before to")
	}
	if opt.SegmentPrice < 0 || math.IsNaN(opt.SegmentPrice) || math.IsInf(opt.SegmentPrice, 0) {
		return nil, smsflow.Errorf(smsflow.EINVALID, "segment price must be a non-negative number")
	}
	def := opt.Flow
	if def == nil {
		var err error
		if def, err = loadFlow(ctx, db, flowID); err != nil {
			return nil, err
		}
	}
	q := &cohort{db: db, flowID: flowID, from: from.UnixMicro(), to: to.UnixMicro()}
	rep := &FlowReport{FlowID: flowID, From: from.UTC(), To: to.UTC(), SegmentPrice: opt.SegmentPrice,
		Totals: Totals{Exited: map[string]int64{}}, Steps: []Step{}, Variants: []Variant{}}
	if def != nil {
		rep.Name = def.Name
	}

	if err := q.span(ctx); err != nil {
		return nil, err
	}
	var (
		groups     []runGroup
		steps      map[string]*stepFacts
		errG, errS error
		wg         sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		groups, errG = q.runGroups(ctx)
	}()
	steps, errS = q.steps(ctx)
	wg.Wait()
	if err := errors.Join(errG, errS); err != nil {
		return nil, err
	}

	treat, ctrl, variants := rep.addRuns(groups)
	rep.addSteps(def, steps, opt.SegmentPrice)
	rep.addVariants(def, variants)
	rep.Lift = lift(treat, ctrl)
	return rep, nil
}

// addRuns adds the run groups to the totals and returns the treatment and
// control groups (for lift) and the variants' numbers by name.
func (rep *FlowReport) addRuns(groups []runGroup) (treat, ctrl Group, variants map[string]*Variant) {
	variants = map[string]*Variant{}
	t := &rep.Totals
	for _, g := range groups {
		t.Entered += g.n
		t.Conversions += g.conversions
		t.Revenue += g.revenue
		switch {
		case g.status == smsflow.RunCompleted:
			t.Exited["completed"] += g.n
		case g.status == smsflow.RunExited:
			t.Exited[g.exitReason] += g.n
		}
		side := &treat
		if g.holdout {
			t.Holdout += g.n
			side = &ctrl
		}
		side.Entered += g.n
		side.Conversions += g.conversions
		side.Revenue += g.revenue
		if !g.holdout && g.variant != "" {
			v := variants[g.variant]
			if v == nil {
				v = &Variant{Name: g.variant}
				variants[g.variant] = v
			}
			v.Entered += g.n
			v.Conversions += g.conversions
			v.Revenue += g.revenue
		}
	}
	return treat, ctrl, variants
}

// addSteps lists the steps in flow order, then steps only older versions
// had, and adds their messages to the totals, whose rates it then sets.
func (rep *FlowReport) addSteps(def *flow.Flow, steps map[string]*stepFacts, price float64) {
	order := sendSteps(def)
	inFlow := map[string]bool{}
	for _, id := range order {
		inFlow[id] = true
	}
	var extra []string
	for id := range steps {
		if !inFlow[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	t := &rep.Totals
	var allClicks []int64
	for _, id := range append(order, extra...) {
		s := steps[id]
		if s == nil {
			s = &stepFacts{}
		}
		c := s.counters(price)
		rep.Steps = append(rep.Steps, Step{StepID: id, Removed: !inFlow[id], Counters: c})
		t.Sent += c.Sent
		t.Delivered += c.Delivered
		t.Failed += c.Failed
		t.Segments += c.Segments
		t.ClicksUnique += c.ClicksUnique
		t.Replies += c.Replies
		t.OptOuts += c.OptOuts
		allClicks = append(allClicks, s.clickDelays...)
	}
	t.Cost = cost(t.Segments, price)
	t.Revenue = roundMoney(t.Revenue)
	t.CTR = ratio(float64(t.ClicksUnique), float64(t.Sent))
	t.OptOutRate = ratio(float64(t.OptOuts), float64(t.Sent))
	t.ConversionRate = ratio(float64(t.Conversions), float64(t.Entered))
	t.RevenuePerRecipient = ratio(t.Revenue, float64(t.Entered))
	t.AOV = ratio(t.Revenue, float64(t.Conversions))
	t.MessagesPerConversion = ratio(float64(t.Sent), float64(t.Conversions))
	t.MedianTimeToClickS = medianSeconds(allClicks)
}

// addVariants lists the variants in the order the flow's splits list them,
// then any others by name, each tested against the first.
func (rep *FlowReport) addVariants(def *flow.Flow, variants map[string]*Variant) {
	for _, name := range splitVariants(def) {
		if v := variants[name]; v != nil {
			rep.Variants = append(rep.Variants, *v)
			delete(variants, name)
		}
	}
	var rest []string
	for name := range variants {
		rest = append(rest, name)
	}
	sort.Strings(rest)
	for _, name := range rest {
		rep.Variants = append(rep.Variants, *variants[name])
	}
	for i := range rep.Variants {
		v := &rep.Variants[i]
		v.Revenue = roundMoney(v.Revenue)
		v.ConversionRate = ratio(float64(v.Conversions), float64(v.Entered))
		v.RevenuePerRecipient = ratio(v.Revenue, float64(v.Entered))
		if i == 0 {
			v.Note = "reference: the other variants are tested against this one"
			continue
		}
		first := rep.Variants[0]
		c := Compare(v.Conversions, v.Entered, first.Conversions, first.Entered)
		v.PValue, v.Note = c.PValue, c.Note
	}
}

func (g *Group) finish() {
	g.Revenue = roundMoney(g.Revenue)
	g.ConversionRate = ratio(float64(g.Conversions), float64(g.Entered))
	g.RevenuePerRecipient = ratio(g.Revenue, float64(g.Entered))
}

func lift(treat, ctrl Group) Lift {
	treat.finish()
	ctrl.finish()
	l := Lift{Treatment: treat, Control: ctrl, TreatmentRate: treat.ConversionRate, ControlRate: ctrl.ConversionRate,
		TreatmentRevenuePerRecipient: treat.RevenuePerRecipient, ControlRevenuePerRecipient: ctrl.RevenuePerRecipient}
	if ctrl.Entered == 0 {
		l.Comparison = Comparison{Note: notEnough("no holdout group in this period (set holdout on the flow to measure lift)")}
		return l
	}
	l.Comparison = Compare(treat.Conversions, treat.Entered, ctrl.Conversions, ctrl.Entered)
	return l
}

// sendSteps lists a flow's send steps in flow order (depth-first, as
// written).
func sendSteps(f *flow.Flow) []string {
	var out []string
	if f == nil {
		return out
	}
	for _, s := range f.AllSteps() {
		if s.Kind == flow.StepSend {
			out = append(out, s.ID)
		}
	}
	return out
}

// splitVariants lists the variant names of a flow's splits in flow order.
func splitVariants(f *flow.Flow) []string {
	var out []string
	if f == nil {
		return out
	}
	seen := map[string]bool{}
	for _, s := range f.AllSteps() {
		if s.Kind != flow.StepSplit {
			continue
		}
		for _, v := range s.Split {
			if !seen[v.Name] {
				seen[v.Name] = true
				out = append(out, v.Name)
			}
		}
	}
	return out
}

// loadFlow parses the current version of a flow from the database.
func loadFlow(ctx context.Context, db Store, id string) (*flow.Flow, error) {
	heads, err := db.FlowHeads(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range heads {
		if h.ID == id {
			f, _ := flow.Parse(h.File, []byte(h.Source), flow.Options{})
			return f, nil // an unparsable old definition: steps come from the data, by id
		}
	}
	return nil, smsflow.Errorf(smsflow.ENOTFOUND, "no flow %q (list flows with GET /v1/flows)", id)
}

// cost is segments × price, rounded to a millionth to hide float noise.
func cost(segments int64, price float64) float64 {
	return math.Round(float64(segments)*price*1e6) / 1e6
}

// roundMoney rounds a sum of goal values to a millionth (float noise).
func roundMoney(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// medianSeconds returns the median of durations in microseconds, in
// seconds; nil when there are none.
func medianSeconds(us []int64) *float64 {
	if len(us) == 0 {
		return nil
	}
	s := append([]int64(nil), us...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	var m float64
	if n%2 == 1 {
		m = float64(s[n/2])
	} else {
		m = (float64(s[n/2-1]) + float64(s[n/2])) / 2
	}
	return ptr(m / 1e6)
}
