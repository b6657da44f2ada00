// Package sqlite runs the hub's store and job queue on an embedded SQLite database (pure Go, WAL)
// in a data directory: the default for a single binary.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"

	"github.com/waybill-hub/waybill/internal/store"
)

// FileName is the database file inside the data directory.
const FileName = "waybill.db"

// Backend is the SQLite store.Backend. Every write goes through one connection, so that SQLite's
// single writer never answers SQLITE_BUSY to the hub's own concurrent jobs. Reads outside a
// transaction go to a small pool of read-only connections: in WAL mode they see the last commit
// without waiting for the writer, whose connection a commit group holds for up to its maximum age
// (see committer), so a portal read or a lookup does not queue behind the pipeline's writes.
type Backend struct {
	db   *sql.DB // the one writer: transactions, Exec, the job queue, migrations
	rdb  *sql.DB // read-only connections for Query and QueryRow outside transactions
	path string
	gc   *committer
}

// readers is the number of read-only connections.
const readers = 4

var _ store.Backend = (*Backend)(nil)

// Open opens (creating when needed) the database in dir. Use ":memory:" as dir for a private
// in-memory database (tests).
func Open(ctx context.Context, dir string) (*Backend, error) {
	var dsn, path string
	if dir == ":memory:" {
		dsn = "file::memory:?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
		path = ":memory:"
	} else {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating data directory %s: %w", dir, err)
		}
		path = filepath.Join(dir, FileName)
		dsn = "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)" +
			"&_pragma=foreign_keys(1)&_txlock=immediate"
	}
	db := sql.OpenDB(&cachingConnector{dsn: dsn, drv: &msqlite.Driver{}})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	b := &Backend{db: db, rdb: db, path: path, gc: newCommitter(db)}
	if path != ":memory:" { // a private in-memory database lives in its one connection
		b.rdb = sql.OpenDB(&cachingConnector{dsn: "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)", drv: &msqlite.Driver{}})
		b.rdb.SetMaxOpenConns(readers)
		b.rdb.SetMaxIdleConns(readers)
	}
	return b, nil
}

// DB returns the database/sql handle (for River's riversqlite driver).
func (b *Backend) DB() *sql.DB { return b.db }

// Path returns the database file path.
func (b *Backend) Path() string { return b.path }

func (b *Backend) Name() string                   { return "sqlite" }
func (b *Backend) SQLDB() *sql.DB                 { return b.db }
func (b *Backend) GooseDialect() goose.Dialect    { return goose.DialectSQLite3 }
func (b *Backend) Ping(ctx context.Context) error { return b.db.PingContext(ctx) }

// Close closes the readers, then the writer.
func (b *Backend) Close() error {
	if b.rdb != b.db {
		b.rdb.Close()
	}
	return b.db.Close()
}

func (b *Backend) Template() map[string]string {
	return map[string]string{"blob": "BLOB", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT"}
}

func (b *Backend) IsUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func (b *Backend) IsRetryable(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked"))
}

// Quiesce runs fn directly: with one connection, every earlier transaction has committed.
func (b *Backend) Quiesce(ctx context.Context, fn func(ctx context.Context, ex store.Executor) error) error {
	return fn(ctx, b)
}

// AuditWriteLock is a no-op: SQLite has one writer.
func (b *Backend) AuditWriteLock(context.Context, store.TxExecutor) error { return nil }

func (b *Backend) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return execSQL(ctx, b.db, q, args)
}

// Query runs a read on a read-only connection.
func (b *Backend) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return b.rdb.QueryContext(ctx, q, args...)
}

// QueryRow runs a one-row read on a read-only connection.
func (b *Backend) QueryRow(ctx context.Context, q string, args ...any) store.Row {
	return b.rdb.QueryRowContext(ctx, q, args...)
}

// Begin starts a transaction in the open commit group (see committer).
func (b *Backend) Begin(ctx context.Context) (store.TxExecutor, error) {
	return b.gc.begin(ctx)
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func execSQL(ctx context.Context, e execer, q string, args []any) (int64, error) {
	res, err := e.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
