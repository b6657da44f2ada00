package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-hub/waybill/internal/store"
)

// txExec is a transaction on a connection of its own that sends as little as it can on its own:
// its BEGIN, and the statements the store defers (store.Deferrer), wait and travel in one
// pipeline with the next statement whose result is needed, and the last of them with the COMMIT.
// A transaction of the pipeline therefore costs a round trip per statement that returns
// something, plus one for the commit, rather than one per statement plus two.
//
// An error in a statement that travelled with another fails that other statement (or the
// commit); PostgreSQL skips the rest of the pipeline, and the transaction can only roll back.
type txExec struct {
	conn    *pgxpool.Conn // nil once committed or rolled back
	pending pgx.Batch     // unsent statements, in order; BEGIN first until it is sent
	tx      pgx.Tx        // the transaction BEGIN started, once sent (for savepoints)
}

var _ store.Deferrer = (*txExec)(nil)

// errTxDone is returned by a transaction used after its commit or rollback.
var errTxDone = errors.New("transaction already committed or rolled back")

func (t *txExec) Defer(q string, args ...any) { t.pending.Queue(rebind(q), args...) }

// send sends the pending statements followed by q (when not empty), reads the pending ones'
// results, and leaves the caller to read q's: the returned results must be closed.
func (t *txExec) send(ctx context.Context, q *pgx.QueuedQuery) (pgx.BatchResults, error) {
	if t.conn == nil {
		return nil, errTxDone
	}
	b := t.pending
	t.pending = pgx.Batch{}
	n := b.Len()
	if q != nil {
		b.QueuedQueries = append(b.QueuedQueries, q)
	}
	br := t.conn.SendBatch(ctx, &b)
	if t.tx == nil {
		t.tx = br.Tx() // BEGIN was the first of the batch
	}
	for i := 0; i < n; i++ {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

// Flush sends the pending statements now.
func (t *txExec) Flush(ctx context.Context) error {
	if t.pending.Len() == 0 {
		return nil
	}
	br, err := t.send(ctx, nil)
	if err != nil {
		return err
	}
	return br.Close()
}

// Exec sends the statement after the pending ones, in the same round trip.
func (t *txExec) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.exec(ctx, rebind(q), args)
	return tag.RowsAffected(), err
}

func (t *txExec) exec(ctx context.Context, q string, args []any) (pgconn.CommandTag, error) {
	br, err := t.send(ctx, &pgx.QueuedQuery{SQL: q, Arguments: args})
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query sends the query after the pending statements, in the same round trip.
func (t *txExec) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	rows, err := t.query(ctx, rebind(q), args)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

func (t *txExec) query(ctx context.Context, q string, args []any) (pgx.Rows, error) {
	if t.pending.Len() == 0 && t.conn != nil {
		return t.conn.Query(ctx, q, args...)
	}
	br, err := t.send(ctx, &pgx.QueuedQuery{SQL: q, Arguments: args})
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// batchRows closes the batch whose last query it reads along with itself.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// QueryRow returns a row sent, after the pending statements and in the same round trip, when it
// is scanned.
func (t *txExec) QueryRow(ctx context.Context, q string, args ...any) store.Row {
	return pgRow{&lazyRow{t: t, ctx: ctx, q: rebind(q), args: args}}
}

type lazyRow struct {
	t    *txExec
	ctx  context.Context
	q    string
	args []any
}

func (r *lazyRow) Scan(dest ...any) error {
	rows, err := r.t.query(r.ctx, r.q, r.args)
	if err != nil {
		return err
	}
	return scanOne(rows, dest)
}

// Commit sends the pending statements and the COMMIT in one round trip.
func (t *txExec) Commit(ctx context.Context) error {
	if t.conn == nil {
		return errTxDone
	}
	if t.tx == nil && t.pending.Len() == 1 {
		// Nothing but the BEGIN: there is nothing to commit.
		t.release()
		return nil
	}
	tag, err := t.exec(ctx, "commit", nil)
	if err != nil {
		return err // the caller rolls back
	}
	if tag.String() != "COMMIT" {
		// PostgreSQL answers COMMIT of a failed transaction with ROLLBACK.
		return pgx.ErrTxCommitRollback
	}
	t.release()
	return nil
}

func (t *txExec) Rollback(ctx context.Context) error {
	if t.conn == nil {
		return nil
	}
	t.pending = pgx.Batch{}
	var err error
	if t.tx != nil {
		_, err = t.conn.Exec(ctx, "rollback")
		if err != nil {
			// The connection's state is unknown: let the pool close it rather than reuse it.
			t.conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}
	t.release()
	return err
}

func (t *txExec) release() {
	t.conn.Release()
	t.conn = nil
}

// Native returns the transaction as a pgx.Tx for the job queue. Statements sent through it go
// after the pending ones, in the same round trip; its Commit and Rollback are the store's to call
// and fail.
func (t *txExec) Native() any { return &nativeTx{t: t} }

// nativeTx is a txExec seen as a pgx.Tx.
type nativeTx struct{ t *txExec }

var _ pgx.Tx = (*nativeTx)(nil)

// errNotOwner is returned by Commit and Rollback of a nativeTx: the store ends the transaction.
var errNotOwner = errors.New("postgres: the store commits or rolls back this transaction")

func (n *nativeTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := n.t.Flush(ctx); err != nil {
		return nil, err
	}
	if n.t.conn == nil {
		return nil, errTxDone
	}
	return n.t.tx.Begin(ctx) // a savepoint
}

func (n *nativeTx) Commit(context.Context) error   { return errNotOwner }
func (n *nativeTx) Rollback(context.Context) error { return errNotOwner }

func (n *nativeTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := n.t.Flush(ctx); err != nil {
		return 0, err
	}
	if n.t.conn == nil {
		return 0, errTxDone
	}
	return n.t.conn.CopyFrom(ctx, table, cols, src)
}

func (n *nativeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := n.t.Flush(ctx); err != nil {
		return errBatch{err}
	}
	if n.t.conn == nil {
		return errBatch{errTxDone}
	}
	return n.t.conn.SendBatch(ctx, b)
}

func (n *nativeTx) LargeObjects() pgx.LargeObjects {
	panic("postgres: large objects are not supported in store transactions")
}

func (n *nativeTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if n.t.conn == nil {
		return nil, errTxDone
	}
	return n.t.conn.Conn().Prepare(ctx, name, sql)
}

func (n *nativeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return n.t.exec(ctx, sql, args)
}

func (n *nativeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return n.t.query(ctx, sql, args)
}

func (n *nativeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := n.t.query(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return rowOf{rows}
}

func (n *nativeTx) Conn() *pgx.Conn {
	if n.t.conn == nil {
		return nil
	}
	return n.t.conn.Conn()
}

// rowOf is pgx.Rows read as one row.
type rowOf struct{ rows pgx.Rows }

func (r rowOf) Scan(dest ...any) error { return scanOne(r.rows, dest) }

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// scanOne reads the one row of rows into dest, like pgx.Row.Scan: pgx.ErrNoRows when there is none.
func scanOne(rows pgx.Rows, dest []any) error {
	defer rows.Close()
	if !rows.Next() {
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}
