-- Nodes and the flows each has loaded (issue 15): a file flow is live only
-- while some live node has loaded its file. Each serve process records the
-- file flows it loaded (flows directory or bundled examples) under its node
-- id and refreshes heartbeat_at; a clean stop deletes its rows, a crashed
-- node's rows stop counting once its heartbeat is older than the TTL
-- (engine.NodeTTL). Times are µs of each node's own clock.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    source       TEXT NOT NULL DEFAULT '',  -- where its flows came from: a directory, "bundled examples", or ""
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
CREATE TABLE node_flows (
    node_id TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    hash    TEXT NOT NULL,
    file    TEXT NOT NULL,
    origin  TEXT NOT NULL,                 -- file | example
    PRIMARY KEY (node_id, flow_id)
);
CREATE INDEX node_flows_flow ON node_flows (flow_id);

-- The bundled examples get their own origin, so that a node whose provider
-- is not console holds them whatever else the database says. Heads stored
-- before this migration say "file" with the examples' path.
UPDATE flow_heads SET origin = 'example'
WHERE origin = 'file' AND EXISTS (
    SELECT 1 FROM flows f WHERE f.id = flow_heads.id AND f.version = flow_heads.version AND f.file LIKE 'examples/flows/%');

-- "deleted" is now "archived" (DELETE /v1/flows/{id} archives); the code
-- still reads "deleted" as archived.
UPDATE flow_heads SET status = 'archived' WHERE status = 'deleted';
