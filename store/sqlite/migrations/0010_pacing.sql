-- Pacing (issue 6): one row per sender (provider and from address), shared
-- by every node sending as it. next_free is the instant (µs) from which the
-- next segment may start; a sender reserves a batch by moving it forward by
-- segments/rate under the row's lock. day (UTC days since 1970-01-01) and
-- day_used count the segments of the daily cap.
CREATE TABLE pacing (
    sender    TEXT PRIMARY KEY,
    next_free INTEGER NOT NULL DEFAULT 0,
    day       INTEGER NOT NULL DEFAULT 0,
    day_used  INTEGER NOT NULL DEFAULT 0
);
