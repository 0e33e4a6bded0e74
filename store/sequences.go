package store

import "fmt"

// idBlock is ids a transaction reserved from a sequence and has not used.
type idBlock struct {
	ids   []int64
	taken int // how many were reserved in this transaction
	// next is the last id counted out (SQLite's ReserveRunID).
	next int64
}

// nextID takes an id from b, reserving more from the sequence of table's
// column (16, then twice as many each time, up to 512) in one query when
// none is left. Unused ids are gaps, as after any rolled-back insert.
func (t *Tx) nextID(b *idBlock, table, column string) (int64, error) {
	if len(b.ids) == 0 {
		n := min(max(16, 2*b.taken), 512)
		// The sequence is looked up once (OFFSET 0 keeps the subquery from
		// being folded into the projection): looked up per row, it costs
		// far more than the nextval itself.
		rows, err := t.query(`SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence('`+table+`', '`+column+`')::regclass AS seq OFFSET 0) s, generate_series(1, ?)`, n)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return 0, err
			}
			b.ids = append(b.ids, id)
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		b.taken += len(b.ids)
		if len(b.ids) == 0 {
			return 0, fmt.Errorf("the %s sequence returned no id", table)
		}
	}
	id := b.ids[0]
	b.ids = b.ids[1:]
	return id, nil
}
