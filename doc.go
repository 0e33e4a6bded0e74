// Package smsflow holds the domain of the SMS workflow engine: contacts,
// events, the consent ledger, flows, runs, messages and decisions, and the
// errors they produce. It imports nothing of ours; the packages around it
// follow the loop trigger (ingest) → analysis (flow, policy) → execution
// (sms, provider) → outcome (report), with storage in store/ and the
// composition root in cmd/smsflow.
package smsflow
