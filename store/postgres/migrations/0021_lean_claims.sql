-- A leaner message life cycle (D91). A send round's claim no longer moves a
-- message to status 'sending': the row stays 'queued' and carries the
-- round's token (claim <> 0), and readers see it as "sending". The claim and
-- the mark that its provider call may start then change no indexed column:
-- on PostgreSQL both are HOT updates (no index entries), on SQLite they touch
-- no index. Rows a running older binary left 'sending' become claimed rows
-- of the same node (a token of -1 when they had none), so that recovery
-- treats them as before.
--
-- Recovery no longer finds claimed rows by an index on them (any index on
-- the token would make the claim a non-HOT update again): each round records
-- its node, token and id range in send_claims, deleted with the round's
-- outcome, and recovery takes back rows by their round's range.
CREATE TABLE send_claims (
    node     TEXT NOT NULL,
    claim    BIGINT NOT NULL,
    first_id BIGINT NOT NULL,
    last_id  BIGINT NOT NULL,
    PRIMARY KEY (node, claim)
);
INSERT INTO send_claims (node, claim, first_id, last_id)
SELECT claimed_by, CASE WHEN claim = 0 THEN -1 ELSE claim END, MIN(id), MAX(id) FROM messages WHERE status = 'sending'
GROUP BY claimed_by, CASE WHEN claim = 0 THEN -1 ELSE claim END;
UPDATE messages SET status = 'queued', claim = CASE WHEN claim = 0 THEN -1 ELSE claim END WHERE status = 'sending';
-- Recovery finds claimed rows through send_claims.
DROP INDEX IF EXISTS messages_sending;
-- No query reads messages by (flow_id, created_at): those by flow use
-- messages_report, which leads with flow_id.
DROP INDEX IF EXISTS messages_flow;
-- Room on each page for the HOT versions of the claim and the call mark
-- (new pages only; existing rows keep their pages): half a page, so that
-- every row of a page a round claims finds room for its new version.
ALTER TABLE messages SET (fillfactor = 50);
