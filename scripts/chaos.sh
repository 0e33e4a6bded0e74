#!/usr/bin/env bash
# The many-nodes chaos test (issue 19): 3 `smsflow serve` nodes on one
# PostgreSQL, a fake Twilio, a steady load of events; random SIGKILLs of a
# node and one PostgreSQL restart; then the promises are checked (see
# internal/tools/chaos). Small by default (about 2 minutes, as CI runs it);
# larger by flag, e.g.:
#
#   scripts/chaos.sh --duration 10m --nodes 3 --events 8 --rate 20
#
# Needs SMSFLOW_TEST_POSTGRES (or --db) and, for the PostgreSQL restart, the
# right to run `pg_ctlcluster 15 main restart` (root in CI; --pg-restart ''
# skips it). Exits 1 when a promise is broken.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./internal/tools/chaos "$@"
