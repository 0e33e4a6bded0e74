package report

import (
	"context"
	"fmt"
	"time"
)

// EnteredPerDay counts the runs of flowID entered in each day of [from,
// to): days of 24 hours from from, oldest first (the flows list's trend
// line). It reads the runs_flow index only.
func EnteredPerDay(ctx context.Context, db Store, flowID string, from, to time.Time) ([]int64, error) {
	n := int((to.Sub(from) + 24*time.Hour - 1) / (24 * time.Hour))
	if n <= 0 {
		return nil, nil
	}
	out := make([]int64, n)
	lo := from.UnixMicro()
	rows, err := db.ReadQuery(ctx, `SELECT (entered_at - ?) / ?, COUNT(*) FROM runs
WHERE flow_id = ? AND entered_at >= ? AND entered_at < ? GROUP BY 1`, lo, dayMicros, flowID, lo, to.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("runs entered per day of %s: %w", flowID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var day, c int64
		if err := rows.Scan(&day, &c); err != nil {
			return nil, fmt.Errorf("runs entered per day of %s: %w", flowID, err)
		}
		if day >= 0 && day < int64(n) {
			out[day] = c
		}
	}
	return out, rows.Err()
}
