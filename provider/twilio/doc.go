// Package twilio is the Twilio Programmable Messaging provider.
//
// Send makes one form-encoded POST to the Messages API and classifies every
// failure for the send pipeline (see provider.ErrorKind): it never retries by
// itself. It is written against the REST API directly, not twilio-go, because
// the SDK hard-codes its base URL and api_base must be able to point at a
// test server.
//
// Webhooks serves Twilio's status callbacks (/webhooks/twilio/status, set on
// every message through StatusCallback) and inbound texts
// (/webhooks/twilio/inbound, to be set as the number's or Messaging
// Service's "A message comes in" URL). Both check the X-Twilio-Signature
// header (Verify) over public_url + path and the POSTed form, so public_url
// must be exactly the base URL Twilio calls.
package twilio
