package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/store"
)

// TestDeferredStatements checks the batching of deferred statements: they run before the
// statement they travel with, in order, and one that fails fails the transaction.
func TestDeferredStatements(t *testing.T) {
	b := postgres.TestBackend(t)
	ctx := context.Background()
	_, err := b.Exec(ctx, `CREATE TABLE deferred (id BIGINT PRIMARY KEY, v TEXT NOT NULL)`)
	require.NoError(t, err)
	count := func() int {
		var n int
		require.NoError(t, b.QueryRow(ctx, `SELECT COUNT(*) FROM deferred`).Scan(&n))
		return n
	}

	t.Run("run in order before the next statement", func(t *testing.T) {
		tx, err := b.Begin(ctx)
		require.NoError(t, err)
		d := tx.(store.Deferrer)
		d.Defer(`INSERT INTO deferred (id, v) VALUES (?, ?)`, 1, "a")
		d.Defer(`UPDATE deferred SET v = ? WHERE id = ?`, "b", 1)
		n, err := tx.Exec(ctx, `UPDATE deferred SET v = v || ? WHERE id = ?`, "c", 1)
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "rows affected by the statement itself")
		d.Defer(`INSERT INTO deferred (id, v) VALUES (?, ?)`, 2, "z")
		var v string
		require.NoError(t, tx.QueryRow(ctx, `SELECT v FROM deferred WHERE id = ?`, 1).Scan(&v))
		require.Equal(t, "bc", v)
		d.Defer(`INSERT INTO deferred (id, v) VALUES (?, ?)`, 3, "y")
		require.NoError(t, tx.Commit(ctx), "the last deferred statement goes with the commit")
		require.Equal(t, 3, count())
	})

	t.Run("a failing deferred statement fails the commit", func(t *testing.T) {
		tx, err := b.Begin(ctx)
		require.NoError(t, err)
		d := tx.(store.Deferrer)
		d.Defer(`INSERT INTO deferred (id, v) VALUES (?, ?)`, 10, "ok")
		d.Defer(`INSERT INTO deferred (id, v) VALUES (?, NULL)`, 11)
		require.Error(t, tx.Commit(ctx))
		_ = tx.Rollback(ctx)
		require.Equal(t, 3, count(), "nothing of it stored")
	})

	t.Run("and the statement it travels with", func(t *testing.T) {
		tx, err := b.Begin(ctx)
		require.NoError(t, err)
		tx.(store.Deferrer).Defer(`INSERT INTO deferred (id, v) VALUES (?, ?)`, 1, "duplicate")
		_, err = tx.Exec(ctx, `INSERT INTO deferred (id, v) VALUES (?, ?)`, 20, "fine")
		require.Error(t, err)
		require.NoError(t, tx.Rollback(ctx))
		require.Equal(t, 3, count())
	})
}
