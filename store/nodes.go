package store

import (
	"context"
	"time"
)

// NodeFlow is one flow a node loaded from a file: its flows directory or the
// bundled examples.
type NodeFlow struct {
	FlowID string
	Hash   string
	File   string
	Origin string // "file" or "example"
}

// LoadedFlow is a flow some node has loaded, with that node's id.
type LoadedFlow struct {
	NodeFlow
	Node string
}

// RecordNodeFlows replaces the set of flows a node has loaded with flows
// (none: it loads nothing), refreshes its heartbeat, and forgets nodes
// whose heartbeat is older than forgetBefore. A node restarting under the
// same id replaces its old set at once.
func (db *DB) RecordNodeFlows(ctx context.Context, node, source string, flows []NodeFlow, now, forgetBefore time.Time) error {
	return db.WriteTx(ctx, func(t *Tx) error {
		if _, err := t.exec(`DELETE FROM node_flows WHERE node_id IN (SELECT id FROM nodes WHERE heartbeat_at < ?)`, micros(forgetBefore)); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM nodes WHERE heartbeat_at < ?`, micros(forgetBefore)); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO nodes (id, source, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET source = excluded.source, heartbeat_at = excluded.heartbeat_at`, node, source, micros(now), micros(now)); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM node_flows WHERE node_id = ?`, node); err != nil {
			return err
		}
		for _, f := range flows {
			if _, err := t.exec(`INSERT INTO node_flows (node_id, flow_id, hash, file, origin) VALUES (?, ?, ?, ?, ?)`, node, f.FlowID, f.Hash, f.File, f.Origin); err != nil {
				return err
			}
		}
		return nil
	})
}

// HeartbeatNode refreshes a node's heartbeat. found is false when the node
// has no record (it was forgotten, or another process under the same id
// left): the caller records its flows again.
func (db *DB) HeartbeatNode(ctx context.Context, node string, now time.Time) (found bool, err error) {
	err = db.WriteTx(ctx, func(t *Tx) error {
		res, err := t.exec(`UPDATE nodes SET heartbeat_at = ? WHERE id = ?`, micros(now), node)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		found = n > 0
		return err
	})
	return found, err
}

// RemoveNode deletes a node's record and its loaded flows (a clean stop).
func (db *DB) RemoveNode(ctx context.Context, node string) error {
	return db.WriteTx(ctx, func(t *Tx) error {
		if _, err := t.exec(`DELETE FROM node_flows WHERE node_id = ?`, node); err != nil {
			return err
		}
		_, err := t.exec(`DELETE FROM nodes WHERE id = ?`, node)
		return err
	})
}

// LoadedFlows returns the flows loaded by the nodes whose heartbeat is at
// or after since (the live ones), by flow id then node.
func (db *DB) LoadedFlows(ctx context.Context, since time.Time) ([]LoadedFlow, error) {
	rows, err := db.queryRead(ctx, `SELECT f.flow_id, f.hash, f.file, f.origin, f.node_id FROM node_flows f JOIN nodes n ON n.id = f.node_id
WHERE n.heartbeat_at >= ? ORDER BY f.flow_id, f.node_id`, micros(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LoadedFlow
	for rows.Next() {
		var l LoadedFlow
		if err := rows.Scan(&l.FlowID, &l.Hash, &l.File, &l.Origin, &l.Node); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
