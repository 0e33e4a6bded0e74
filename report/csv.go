package report

import (
	"encoding/csv"
	"io"
	"strconv"
)

// StepColumns are the columns of the step table export, in order.
var StepColumns = []string{"step_id", "entered", "sent", "delivered", "failed", "segments", "cost",
	"clicks_unique", "ctr", "replies", "opt_outs", "opt_out_rate", "conversions", "conversion_rate",
	"revenue", "revenue_per_recipient", "aov", "messages_per_conversion", "median_time_to_click_s"}

// WriteStepsCSV writes the report's step table as CSV (RFC 4180): a header
// of StepColumns, one row per send step in flow order, then a "total" row.
// Undefined rates are empty cells.
func WriteStepsCSV(w io.Writer, r *FlowReport) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(StepColumns); err != nil {
		return err
	}
	for _, s := range r.Steps {
		if err := cw.Write(counterRow(s.StepID, s.Counters)); err != nil {
			return err
		}
	}
	if err := cw.Write(counterRow("total", r.Totals.Counters)); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func counterRow(id string, c Counters) []string {
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{id, i(c.Entered), i(c.Sent), i(c.Delivered), i(c.Failed), i(c.Segments), num(c.Cost),
		i(c.ClicksUnique), opt(c.CTR), i(c.Replies), i(c.OptOuts), opt(c.OptOutRate), i(c.Conversions), opt(c.ConversionRate),
		num(c.Revenue), opt(c.RevenuePerRecipient), opt(c.AOV), opt(c.MessagesPerConversion), opt(c.MedianTimeToClickS)}
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func opt(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}
