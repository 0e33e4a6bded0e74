// Package api is smsflow's HTTP interface: Segment-compatible ingestion
// (/v1/track, /v1/identify, /v1/batch, …), the admin API under /v1, health
// and readiness. It is the only place that maps error codes to HTTP statuses.
package api
