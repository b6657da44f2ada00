// Package store is the hub's persistence: messages, orders and their lifecycle events, dead
// letters, the hash-chained audit trail, trace keys, control numbers and cursors. The SQL is
// written once, in portable form, and runs on SQLite (internal/sqlite) and PostgreSQL
// (internal/postgres) through a Backend; storetest holds the conformance suite both pass.
//
// A DB is safe for concurrent use. Work that must commit together (a state change and the job
// that follows it) runs inside InTx; the *Tx exposes the backend's native transaction so that the
// job queue can enqueue in the same transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/waybill-hub/waybill"
)

// ErrNotFound is returned when a record asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when an update lost a race (the record changed under it).
var ErrConflict = errors.New("conflict: record changed concurrently")

// Executor runs SQL written with '?' placeholders; the backend rewrites them for its dialect.
type Executor interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is the subset of *sql.Rows and pgx.Rows the store uses.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Close() error
	Err() error
}

// Row is a single-row result. Scan returns sql.ErrNoRows when there is no row, on every backend.
type Row interface {
	Scan(dest ...any) error
}

// TxExecutor is an open transaction.
type TxExecutor interface {
	Executor
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	// Native returns the driver's transaction (*sql.Tx or pgx.Tx) for the job queue. Statements
	// sent through it run after those deferred so far (a Deferrer sends them first).
	Native() any
}

// Deferrer is implemented by transactions that can hold back statements whose results nobody
// reads (events, audit records, trace keys) and send them together with the next statement, or at
// commit: one network round trip instead of one each (PostgreSQL). An error in a deferred
// statement fails the statement it travelled with, or the commit.
type Deferrer interface {
	Defer(q string, args ...any)
	// Flush sends the deferred statements now.
	Flush(ctx context.Context) error
}

// Backend adapts one database engine.
type Backend interface {
	Name() string // "sqlite" or "postgres"
	Executor
	Begin(ctx context.Context) (TxExecutor, error)
	// SQLDB returns a database/sql handle for migrations.
	SQLDB() *sql.DB
	GooseDialect() goose.Dialect
	// Template returns the dialect's fillers for {{blob}} and {{serial}} in migrations.
	Template() map[string]string
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation(err error) bool
	// IsRetryable reports whether err is a serialization or lock failure worth retrying the tx.
	IsRetryable(err error) bool
	// Quiesce runs fn once every transaction that was writing audit records when it was called has
	// finished, while new ones wait; it lets the sealer see a gap-free prefix of the audit log.
	// fn must use only ex (the connection holding the lock): the others may all be waiting.
	Quiesce(ctx context.Context, fn func(ctx context.Context, ex Executor) error) error
	// AuditWriteLock is called inside a transaction before it inserts audit records.
	AuditWriteLock(ctx context.Context, tx TxExecutor) error
	Ping(ctx context.Context) error
	Close() error
}

// DB is the hub's store over one backend.
type DB struct {
	b   Backend
	now func() time.Time
}

// New returns a DB over b. Call Migrate before first use.
func New(b Backend) *DB { return &DB{b: b, now: func() time.Time { return time.Now().UTC() }} }

// Backend returns the backend (for the job queue's driver and for tests).
func (db *DB) Backend() Backend { return db.b }

// SetClock replaces the clock; tests use it to make times deterministic.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Now returns the store's clock reading, in UTC.
func (db *DB) Now() time.Time { return db.now() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.b.Ping(ctx) }

// Close closes the backend.
func (db *DB) Close() error { return db.b.Close() }

// Migrate applies the hub's schema migrations.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := renderMigrations(db.b.Template())
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(db.b.GooseDialect(), db.b.SQLDB(), fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// MigrationStatus lists the schema migrations and whether each is applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]string, error) {
	fsys, err := renderMigrations(db.b.Template())
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(db.b.GooseDialect(), db.b.SQLDB(), fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range st {
		out = append(out, fmt.Sprintf("%05d %s %s", s.Source.Version, s.State, path.Base(s.Source.Path)))
	}
	return out, nil
}

// Tx is a transaction of the store. Its methods may be called only from inside the InTx
// callback that received it.
type Tx struct {
	db  *DB
	ex  TxExecutor
	ctx context.Context

	audits      []auditRow            // appended by this transaction, written at commit
	events      []waybill.OrderEvent  // stored by this transaction, written at commit
	webhooks    map[string][]*Webhook // subscriptions read, by account
	traced      map[traceKey]bool
	traceKeys   []traceKey   // added by this transaction, written at commit in one statement
	orderWrites []orderWrite // saved by TransitionAtCommit, written at commit
	afterCommit []func()
}

// Native returns the driver transaction, for enqueueing jobs in the same transaction. Statements
// sent on it run after those the transaction has deferred.
func (tx *Tx) Native() any { return tx.ex.Native() }

// Flush sends the statements the transaction has deferred (see Deferrer).
func (tx *Tx) Flush(ctx context.Context) error {
	if d, ok := tx.ex.(Deferrer); ok {
		return d.Flush(ctx)
	}
	return nil
}

// execDeferred runs a statement whose result is not needed, deferred where the backend can.
func (tx *Tx) execDeferred(ctx context.Context, q string, args ...any) error {
	if d, ok := tx.ex.(Deferrer); ok {
		d.Defer(q, args...)
		return nil
	}
	_, err := tx.ex.Exec(ctx, q, args...)
	return err
}

// Exec runs a statement in the transaction (for adapters with tables of their own).
func (tx *Tx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return tx.ex.Exec(ctx, q, args...)
}

// AfterCommit registers fn to run once the transaction has committed.
func (tx *Tx) AfterCommit(fn func()) { tx.afterCommit = append(tx.afterCommit, fn) }

// InTx runs fn in a transaction and commits it when fn returns nil; any error or panic rolls it
// back. A serialization failure reported by the backend retries fn a few times, so fn must not
// have effects outside the transaction other than through AfterCommit.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = db.inTxOnce(ctx, fn)
		if err == nil || !db.b.IsRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	ex, err := db.b.Begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	tx := &Tx{db: db, ex: ex, ctx: ctx}
	defer func() {
		if p := recover(); p != nil {
			_ = ex.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = ex.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if len(tx.orderWrites) > 0 {
		if err = tx.writeOrders(ctx); err != nil {
			return err
		}
	}
	if err = tx.writeAudit(ctx); err != nil {
		return err
	}
	if err = ex.Commit(ctx); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
