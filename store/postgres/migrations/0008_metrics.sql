-- Metrics (GET /metrics): runs by state and messages by direction, provider
-- and status are counted at scrape time from these indexes alone (an
-- index-only scan that never reads the table rows).
CREATE INDEX runs_status ON runs (status);
CREATE INDEX messages_status ON messages (direction, provider, status);
