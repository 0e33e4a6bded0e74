// Package deps pins the project's chosen third-party modules until the code
// that uses them lands; it is removed once every module is imported for real.
package deps

import (
	_ "cel.dev/cel-go/cel"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/osteele/liquid"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
