package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow/report"
)

// cmdReport prints a flow's measurement report (or the program-health
// report) from the database, as a terminal table, CSV or JSON.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	from := fs.String("from", "", "start of the window: runs entered from this `DATE` on (default: 30 days before --to)")
	to := fs.String("to", "", "end of the window, exclusive; a `DATE` written as a day includes that day (default: now)")
	asCSV := fs.Bool("csv", false, "print the step table as CSV")
	asJSON := fs.Bool("json", false, "print the report as JSON (as the API returns it)")
	program := fs.Bool("program", false, "the program-health report instead of a flow's")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	var flowID string
	switch {
	case len(pos) > 1:
		return usageError(fs, stderr, "one FLOW at a time")
	case len(pos) == 1:
		flowID = pos[0]
	}
	switch {
	case flowID == "" && !*program:
		return usageError(fs, stderr, "give the FLOW id (or --program)")
	case flowID != "" && *program:
		return usageError(fs, stderr, "--program is the report of every flow: give it without a FLOW")
	case *asCSV && *asJSON:
		return usageError(fs, stderr, "--csv or --json, not both")
	}
	start, end, err := report.ParsePeriod(*from, *to, time.Now())
	if err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	price, err := report.ParseSegmentPrice(cfg.SegmentPrice)
	if err != nil {
		return err
	}
	db, err := openExisting(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if *program {
		rep, err := report.Program(ctx, db, start, end)
		if err != nil {
			return err
		}
		return enc.Encode(rep)
	}
	rep, err := report.Flow(ctx, db, flowID, start, end, report.Options{SegmentPrice: price})
	if err != nil {
		return err
	}
	switch {
	case *asCSV:
		return report.WriteStepsCSV(stdout, rep)
	case *asJSON:
		return enc.Encode(rep)
	}
	return printFlowReport(stdout, rep)
}

// printFlowReport writes the report as aligned tables for a terminal.
func printFlowReport(w io.Writer, r *report.FlowReport) error {
	t := r.Totals
	fmt.Fprintf(w, "%s (%s): runs entered %s to %s\n", r.Name, r.FlowID, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	reasons := make([]string, 0, len(t.Exited))
	for k := range t.Exited {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	var exits []string
	for _, k := range reasons {
		exits = append(exits, fmt.Sprintf("%s %d", k, t.Exited[k]))
	}
	fmt.Fprintf(w, "entered %d (holdout %d); ended: %s\n\n", t.Entered, t.Holdout, orDash(strings.Join(exits, ", ")))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tentered\tsent\tdelivered\tfailed\tsegments\tcost\tclicks\tctr\treplies\topt-outs\tconv\tconv rate\trevenue\trev/recip\taov\tmsgs/conv\tclick after\t")
	row := func(name string, c report.Counters) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, c.Entered, c.Sent, c.Delivered, c.Failed, c.Segments,
			money(c.Cost), c.ClicksUnique, pct(c.CTR), c.Replies, c.OptOuts, c.Conversions, pct(c.ConversionRate), money(c.Revenue),
			optMoney(c.RevenuePerRecipient), optMoney(c.AOV), optNum(c.MessagesPerConversion), dur(c.MedianTimeToClickS))
	}
	for _, s := range r.Steps {
		name := s.StepID
		if s.Removed {
			name += " (removed)"
		}
		row(name, s.Counters)
	}
	row("total", t.Counters)
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(r.Variants) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "variant\tentered\tconv\tconv rate\trev/recip\tp vs first\t")
		for _, v := range r.Variants {
			p := "(reference)"
			if v.PValue != nil {
				p = fmt.Sprintf("%.3g", *v.PValue)
			} else if v.Note != "" && !strings.HasPrefix(v.Note, "reference") {
				p = "not enough data"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", v.Name, v.Entered, v.Conversions, pct(v.ConversionRate), optMoney(v.RevenuePerRecipient), p)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	l := r.Lift
	fmt.Fprintf(w, "\nlift (everyone assigned vs holdout): conversion %s vs %s, revenue per recipient %s vs %s\n",
		pct(l.TreatmentRate), pct(l.ControlRate), optMoney(l.TreatmentRevenuePerRecipient), optMoney(l.ControlRevenuePerRecipient))
	if !l.Enough {
		fmt.Fprintf(w, "  %s\n", l.Note)
		return nil
	}
	rel := "n/a"
	if l.Relative != nil {
		rel = fmt.Sprintf("%+.1f%%", *l.Relative*100)
	}
	_, err := fmt.Fprintf(w, "  difference %+.2f pts (95%% CI %+.2f to %+.2f), relative %s, p = %.3g\n",
		*l.Absolute*100, l.CI95[0]*100, l.CI95[1]*100, rel, *l.PValue)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

func money(v float64) string { return fmt.Sprintf("%.2f", v) }

func optMoney(v *float64) string {
	if v == nil {
		return "-"
	}
	return money(*v)
}

func optNum(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *v)
}

func dur(s *float64) string {
	if s == nil {
		return "-"
	}
	return (time.Duration(*s * float64(time.Second))).Round(time.Second).String()
}
