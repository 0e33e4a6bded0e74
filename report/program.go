package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/smsflow/smsflow"
)

// MaxProgramDays bounds the program report's daily table.
const MaxProgramDays = 731

// Day is one UTC day of list growth.
type Day struct {
	Date           string `json:"date"` // YYYY-MM-DD (UTC)
	NewSubscribers int64  `json:"new_subscribers"`
	OptOuts        int64  `json:"opt_outs"`
	Net            int64  `json:"net"`
}

// ProgramFlow is one flow's delivery and opt-out health (flow_id "" holds
// messages sent outside any flow, such as keyword replies).
type ProgramFlow struct {
	FlowID       string   `json:"flow_id"`
	Sent         int64    `json:"sent"`
	Delivered    int64    `json:"delivered"`
	Failed       int64    `json:"failed"`
	DeliveryRate *float64 `json:"delivery_rate"`
	OptOuts      int64    `json:"opt_outs"`
	OptOutRate   *float64 `json:"opt_out_rate"`
}

// ProgramReport is the weekly flow-health review: list growth per day,
// delivery, opt-outs per flow and messaging pressure, over [From, To).
// Unlike the flow report it selects by when things happened (messages by
// creation, ledger entries by occurrence), not by run entry.
type ProgramReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Days []Day     `json:"days"`
	// NewSubscribers, OptOuts and Net total the days.
	NewSubscribers int64 `json:"new_subscribers"`
	OptOuts        int64 `json:"opt_outs"`
	Net            int64 `json:"net"`
	// Subscribers is how many numbers were subscribed at To.
	Subscribers        int64         `json:"subscribers"`
	Sent               int64         `json:"sent"`
	Delivered          int64         `json:"delivered"`
	Failed             int64         `json:"failed"`
	DeliveryRate       *float64      `json:"delivery_rate"`
	OptOutRate         *float64      `json:"opt_out_rate"` // opt-outs attributed to a message / sent
	ContactsMessaged   int64         `json:"contacts_messaged"`
	MessagesPerContact *float64      `json:"messages_per_contact"`
	Flows              []ProgramFlow `json:"flows"`
}

const dayMicros = int64(24 * 3600 * 1e6)

// Program builds the program-health report over [from, to).
func Program(ctx context.Context, db Store, from, to time.Time) (*ProgramReport, error) {
	if !from.Before(to) {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "from", "from must be before to")
	}
	first, last := from.UTC().Truncate(24*time.Hour), to.UTC().Add(-time.Microsecond).Truncate(24*time.Hour)
	if n := int(last.Sub(first)/(24*time.Hour)) + 1; n > MaxProgramDays {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "from", "the program report covers at most %d days (asked for %d); narrow from/to", MaxProgramDays, n)
	}
	q := cohort{db: db, from: from.UnixMicro(), to: to.UnixMicro()}
	rep := &ProgramReport{From: from.UTC(), To: to.UTC(), Days: []Day{}, Flows: []ProgramFlow{}}
	if err := q.listGrowth(ctx, rep, first, last); err != nil {
		return nil, err
	}
	if err := q.subscribers(ctx, rep); err != nil {
		return nil, err
	}
	if err := q.deliveryByFlow(ctx, rep); err != nil {
		return nil, err
	}
	if err := q.contactsMessaged(ctx, rep); err != nil {
		return nil, err
	}
	rep.MessagesPerContact = ratio(float64(rep.Sent), float64(rep.ContactsMessaged))
	return rep, nil
}

// listGrowth fills the report's days (one per calendar day of [first,
// last]) with new subscribers and opt-outs, and their sums: ledger entries
// that change a number's status into subscribed (a new subscriber) or
// unsubscribed (an opt-out). A change is judged against the entry recorded
// before it (the ledger's order, as the status is derived) and counted on
// the day it claims, which is never later than its recording.
func (q *cohort) listGrowth(ctx context.Context, rep *ProgramReport, first, last time.Time) error {
	days := map[int64]*Day{}
	for d := first; !d.After(last); d = d.Add(24 * time.Hour) {
		day := &Day{Date: d.Format("2006-01-02")}
		days[d.UnixMicro()/dayMicros] = day
	}
	err := q.each(ctx, "list growth", `SELECT x.occurred_at / ?, x.status, COUNT(*) FROM (
  SELECT occurred_at, status, LAG(status) OVER (PARTITION BY phone ORDER BY id) AS prev FROM consent_ledger
) x
WHERE x.occurred_at >= ? AND x.occurred_at < ? AND x.status IN ('subscribed', 'unsubscribed') AND (x.prev IS NULL OR x.prev <> x.status)
GROUP BY 1, 2`, []any{dayMicros, q.from, q.to}, func(scan func(...any) error) error {
		var day, n int64
		var status string
		if err := scan(&day, &status, &n); err != nil {
			return err
		}
		d := days[day]
		if d == nil {
			return fmt.Errorf("day %d outside the window", day)
		}
		if status == string(smsflow.ConsentSubscribed) {
			d.NewSubscribers += n
		} else {
			d.OptOuts += n
		}
		return nil
	})
	if err != nil {
		return err
	}
	keys := make([]int64, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		d := days[k]
		d.Net = d.NewSubscribers - d.OptOuts
		rep.Days = append(rep.Days, *d)
		rep.NewSubscribers += d.NewSubscribers
		rep.OptOuts += d.OptOuts
	}
	rep.Net = rep.NewSubscribers - rep.OptOuts
	return nil
}

// subscribers counts the numbers subscribed at the end of the window: each
// number's last recorded entry among those dated before it.
func (q *cohort) subscribers(ctx context.Context, rep *ProgramReport) error {
	return q.each(ctx, "subscribers", `SELECT COUNT(*) FROM (
  SELECT status, ROW_NUMBER() OVER (PARTITION BY phone ORDER BY id DESC) AS rn FROM consent_ledger WHERE occurred_at < ?
) x WHERE x.rn = 1 AND x.status = 'subscribed'`, []any{q.to}, func(scan func(...any) error) error {
		return scan(&rep.Subscribers)
	})
}

// deliveryByFlow fills the per-flow delivery numbers (outbound messages
// created in the window) and opt-outs, and their sums.
func (q *cohort) deliveryByFlow(ctx context.Context, rep *ProgramReport) error {
	flows := map[string]*ProgramFlow{}
	getFlow := func(id string) *ProgramFlow {
		f := flows[id]
		if f == nil {
			f = &ProgramFlow{FlowID: id}
			flows[id] = f
		}
		return f
	}
	err := q.each(ctx, "delivery", `SELECT m.flow_id,
CAST(SUM(CASE WHEN `+sentCond+` THEN 1 ELSE 0 END) AS BIGINT),
CAST(SUM(CASE WHEN m.status = 'delivered' THEN 1 ELSE 0 END) AS BIGINT),
CAST(SUM(CASE WHEN m.status IN ('failed', 'undelivered') THEN 1 ELSE 0 END) AS BIGINT)
FROM messages m WHERE m.direction = 'out' AND m.created_at >= ? AND m.created_at < ?
GROUP BY m.flow_id`, []any{q.from, q.to}, func(scan func(...any) error) error {
		var id string
		var sent, delivered, failed int64
		if err := scan(&id, &sent, &delivered, &failed); err != nil {
			return err
		}
		f := getFlow(id)
		f.Sent, f.Delivered, f.Failed = sent, delivered, failed
		return nil
	})
	if err != nil {
		return err
	}
	// Opt-outs in the window, attributed to the last message the number
	// received in the 24 hours before (as in the flow report, and read as
	// it reads them: the ids first, then the messages by id).
	var attributed int64
	err = q.each(ctx, "opt-outs", `SELECT m.flow_id, COUNT(DISTINCT m.id)
FROM (SELECT DISTINCT (SELECT m2.id FROM messages m2
  WHERE m2.contact_id = c.id AND m2.direction = 'out' AND m2.run_id IS NOT NULL AND m2.status IN `+reachedStatuses+`
  AND m2.created_at <= u.occurred_at AND m2.created_at >= u.occurred_at - ?
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1) AS id
  FROM consent_ledger u JOIN contacts c ON c.phone = u.phone
  WHERE u.status = 'unsubscribed' AND u.occurred_at >= ? AND u.occurred_at < ?) a
JOIN messages m ON m.id = a.id
GROUP BY m.flow_id`, []any{attributionWindowMicros, q.from, q.to}, func(scan func(...any) error) error {
		var id string
		var n int64
		if err := scan(&id, &n); err != nil {
			return err
		}
		getFlow(id).OptOuts = n
		attributed += n
		return nil
	})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(flows))
	for id := range flows {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := flows[id]
		f.DeliveryRate = ratio(float64(f.Delivered), float64(f.Sent))
		f.OptOutRate = ratio(float64(f.OptOuts), float64(f.Sent))
		rep.Flows = append(rep.Flows, *f)
		rep.Sent += f.Sent
		rep.Delivered += f.Delivered
		rep.Failed += f.Failed
	}
	rep.DeliveryRate = ratio(float64(rep.Delivered), float64(rep.Sent))
	rep.OptOutRate = ratio(float64(attributed), float64(rep.Sent))
	return nil
}

// contactsMessaged counts the distinct contacts the window's sent messages
// went to.
func (q *cohort) contactsMessaged(ctx context.Context, rep *ProgramReport) error {
	return q.each(ctx, "contacts messaged", `SELECT COUNT(DISTINCT m.contact_id) FROM messages m
WHERE m.direction = 'out' AND m.created_at >= ? AND m.created_at < ? AND `+sentCond, []any{q.from, q.to}, func(scan func(...any) error) error {
		return scan(&rep.ContactsMessaged)
	})
}
