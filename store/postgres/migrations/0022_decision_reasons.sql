-- The flow page's skipped and deferred counts (report.StepDecisions,
-- docs/decisions.md D93): a flow's decisions by reason and step, in run-id
-- order, so that the few that are not "sent" are one index range per
-- (reason, step) instead of a visit to every decision of the flow.
CREATE INDEX decisions_reasons ON decisions (flow_id, reason, step_id, run_id);
