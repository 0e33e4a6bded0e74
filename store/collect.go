package store

import "database/sql"

// collect reads every row of rows with scan, closes rows, and returns the
// values in order: the loop every list-returning query repeated, with its
// close and its rows.Err, written once.
func collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
