package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/waybill-hub/waybill/internal/store"
)

// Group commit.
//
// SQLite has one writer, and the hub sends all its work through one connection, so transactions
// run one after another. What they cost is mostly the commit: writing every page a transaction
// touched to the WAL. Under load, the hub's transactions are many and small (a receipt, a job's
// state change and the next job's enqueue), and they touch the same few pages (the tail of each
// table and index).
//
// The committer therefore runs the transactions that queue up behind each other in one SQLite
// transaction, each inside its own savepoint, and commits them together: a transaction that fails
// is rolled back to its savepoint without touching the others; one that succeeds returns from
// Commit only once the shared transaction is durable, so nothing is acknowledged that is not
// stored. A lone transaction commits at once, as before. A group is closed after maxMembers
// transactions or maxAge, so that the job queue's own statements (which use the pool) get the
// connection in between.
//
// Within a group a transaction sees the ones before it, which is what running them one after
// another would show; if the shared commit fails, every member gets the error, as each would had
// it committed alone. As with a single connection, a transaction must not wait, inside its
// callback, for another one to return: that one may be waiting for this group to commit.
type committer struct {
	db         *sql.DB
	turn       chan struct{} // held by the one transaction running on the open group
	waiting    atomic.Int32  // transactions waiting for the turn
	cur        *group        // the open group; guarded by turn
	maxMembers int
	maxAge     time.Duration
}

type group struct {
	tx      *sql.Tx
	started time.Time
	members int           // transactions that ran in it
	done    chan struct{} // closed once committed (or failed)
	err     error         // set before done is closed
	failed  error         // the group can no longer commit (set while holding the turn)
}

func newCommitter(db *sql.DB) *committer {
	return &committer{db: db, turn: make(chan struct{}, 1), maxMembers: 64, maxAge: 10 * time.Millisecond}
}

// begin waits for the turn and starts a member of the open group (opening one when needed).
func (c *committer) begin(ctx context.Context) (*member, error) {
	c.waiting.Add(1)
	select {
	case c.turn <- struct{}{}:
		c.waiting.Add(-1)
	case <-ctx.Done():
		c.waiting.Add(-1)
		// The holder may have passed the turn on expecting this transaction to take it: whoever
		// leaves now and finds the turn free closes the open group.
		select {
		case c.turn <- struct{}{}:
			c.pass()
		default:
		}
		return nil, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		c.pass()
		return nil, err
	}
	if c.cur == nil {
		// The shared transaction outlives the context of the transaction that opened it.
		tx, err := c.db.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			<-c.turn
			return nil, err
		}
		c.cur = &group{tx: tx, started: time.Now(), done: make(chan struct{})}
	}
	g := c.cur
	if _, err := g.tx.ExecContext(context.WithoutCancel(ctx), "SAVEPOINT member"); err != nil {
		g.failed = err
		c.pass()
		return nil, err
	}
	g.members++
	return &member{c: c, g: g, ctx: ctx}, nil
}

// pass ends the turn of the caller, who holds it: it commits the open group when nobody else
// is waiting for it or it is full, and otherwise hands it on.
func (c *committer) pass() {
	g := c.cur
	if g == nil {
		<-c.turn
		return
	}
	if g.failed == nil && c.waiting.Load() > 0 && g.members < c.maxMembers && time.Since(g.started) < c.maxAge {
		<-c.turn
		// A waiter that gave up between the check and the release found the turn still held and
		// left it to us: when nobody waits any more, take the turn back and close the group, or
		// it would stay open with its members waiting for a commit nobody makes.
		if c.waiting.Load() == 0 {
			select {
			case c.turn <- struct{}{}:
				c.pass()
			default: // someone took the turn: the group is theirs to pass on
			}
		}
		return
	}
	c.cur = nil
	if g.failed != nil {
		_ = g.tx.Rollback()
		g.err = fmt.Errorf("the transaction group it ran in failed: %w", g.failed)
	} else if err := g.tx.Commit(); err != nil {
		g.err = err
	}
	close(g.done)
	<-c.turn
}

// member is one hub transaction, running inside a savepoint of the open group.
type member struct {
	c      *committer
	g      *group
	ctx    context.Context
	closed bool
}

var _ store.TxExecutor = (*member)(nil)

// Statements run without the caller's cancellation: interrupting SQLite mid-statement would roll
// back the whole group. A cancelled caller fails at its next statement instead.
func (m *member) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return execSQL(context.WithoutCancel(ctx), m.g.tx, q, args)
}

func (m *member) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.g.tx.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (m *member) QueryRow(ctx context.Context, q string, args ...any) store.Row {
	if err := ctx.Err(); err != nil {
		return errRow{err}
	}
	return m.g.tx.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}

// Native is the shared *sql.Tx, for the job queue to enqueue in the same transaction.
func (m *member) Native() any { return m.g.tx }

// Commit releases the member's savepoint and waits until the group is committed.
func (m *member) Commit(context.Context) error {
	if m.closed {
		return sql.ErrTxDone
	}
	m.closed = true
	g := m.g
	if _, err := g.tx.Exec("RELEASE member"); err != nil {
		g.failed = err
	}
	m.c.pass()
	<-g.done // at once when this member closed the group; otherwise bounded by its age and size
	return g.err
}

// Rollback undoes the member's work and leaves the rest of the group alone.
func (m *member) Rollback(context.Context) error {
	if m.closed {
		return sql.ErrTxDone
	}
	m.closed = true
	g := m.g
	if _, err := g.tx.Exec("ROLLBACK TO member"); err != nil {
		g.failed = err
	} else if _, err := g.tx.Exec("RELEASE member"); err != nil {
		g.failed = err
	}
	m.c.pass()
	return nil
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
