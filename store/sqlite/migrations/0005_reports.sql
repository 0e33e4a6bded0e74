-- Reports (report package): the flow report counts the send steps each run
-- reached from its decisions (by run), and finds inbound texts and opt-outs
-- by time without scanning the messages table or the whole consent ledger.
CREATE INDEX decisions_run ON decisions (run_id, step_id);
CREATE INDEX messages_inbound ON messages (created_at) WHERE direction = 'in';
CREATE INDEX consent_ledger_optouts ON consent_ledger (occurred_at) WHERE status = 'unsubscribed';
