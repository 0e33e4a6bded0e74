-- Report speed (report package, docs/decisions.md D25): covering indexes so
-- a flow report reads index ranges instead of visiting rows one by one.
-- runs_report: the runs aggregate, one range per (holdout, variant, status,
-- exit reason) over the entry window; the loose scan that finds those keys.
CREATE INDEX runs_report ON runs (flow_id, holdout, variant, status, exit_reason, entered_at);
-- runs_span: the flow's runs by id, to find the runs in the cohort's id range
-- that are not in the cohort (entered outside the window, or holdout).
CREATE INDEX runs_span ON runs (flow_id, id, entered_at, holdout);
-- runs_goals: only the runs that converted (conversions and revenue by
-- group; conversions by last touch).
CREATE INDEX runs_goals ON runs (flow_id, entered_at, goal_at, goal_value, holdout, variant, status, exit_reason) WHERE goal_at > 0;
-- messages_report: per step and status, the flow's messages in a run-id
-- range (sent, delivered, failed, segments). decisions_report: per step, the
-- runs in a run-id range that reached it.
CREATE INDEX messages_report ON messages (flow_id, step_id, status, direction, run_id, segments, provider_id);
CREATE INDEX decisions_report ON decisions (flow_id, step_id, run_id);
-- link_clicks_report: the clicks of a run-id range in (run, step, code)
-- order, with their times (unique clicks, time to click).
CREATE INDEX link_clicks_report ON link_clicks (run_id, step_id, code, at);
