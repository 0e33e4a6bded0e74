-- Engine speed (docs/decisions.md D34): decisions_flow (flow_id, at) served
-- no query (reports read decisions_report and decisions_run, the timeline
-- decisions_contact), and every send writes a decision.
DROP INDEX IF EXISTS decisions_flow;
