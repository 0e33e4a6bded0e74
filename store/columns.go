package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// micros converts a time to stored microseconds (zero time → 0).
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros converts stored microseconds back to UTC time (0 → zero time).
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

type scanner interface{ Scan(dest ...any) error }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Values come from decoded JSON; a failure here is a programming error.
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// inList returns the placeholders of an IN list of the values, padded to a
// power of two by repeating the last value (which IN ignores), with the
// padded values: a statement that takes a list comes in a few sizes only,
// each prepared once (stmtcache.go).
func inList(values []any) (string, []any) {
	n := len(values)
	if n == 0 {
		return "", values
	}
	size := 1 << bitsLen(n-1)
	if size > n && size <= maxParams {
		padded := make([]any, size)
		copy(padded, values)
		for i := n; i < size; i++ {
			padded[i] = values[n-1]
		}
		values = padded
	}
	return placeholders(len(values)), values
}

// withExtra scans a row's leading columns with a scan function written for
// them, and the extra trailing columns into extra.
type withExtra struct {
	s     scanner
	extra []any
}

func (x withExtra) Scan(dest ...any) error { return x.s.Scan(append(dest, x.extra...)...) }
