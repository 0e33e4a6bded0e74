// Package postgres is smsflow's PostgreSQL driver, through pgx's database/sql
// adapter. Several smsflow nodes may share one PostgreSQL database.
package postgres

import (
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/smsflow/smsflow/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { store.Register("postgres", Open) }

type dialect struct{}

func (dialect) Name() string           { return "postgres" }
func (dialect) SkipLocked() string     { return " FOR UPDATE SKIP LOCKED" }
func (dialect) LockRow() string        { return " FOR UPDATE" }
func (dialect) Rebind(q string) string { return store.RebindDollar(q) }
func (dialect) Migrations() fs.FS      { m, _ := fs.Sub(migrations, "migrations"); return m }

// Open connects to the PostgreSQL database at url (postgres://…).
func Open(url string) (*store.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w (is the server running and the URL right?)", err)
	}
	return store.New(dialect{}, db, db), nil
}
