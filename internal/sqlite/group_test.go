package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func openBare(t *testing.T) *Backend {
	t.Helper()
	b, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, err := b.Exec(context.Background(), `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return b
}

func count(t *testing.T, b *Backend) map[int]bool {
	t.Helper()
	rows, err := b.Query(context.Background(), `SELECT id FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got[id] = true
	}
	return got
}

// TestGroupCommitKeepsEachTransactionAlone runs many concurrent transactions, some of which roll
// back (on their own or after a failed statement): exactly the committed ones are stored, and each
// is readable as soon as its Commit returns.
func TestGroupCommitKeepsEachTransactionAlone(t *testing.T) {
	b := openBare(t)
	ctx := context.Background()
	const n = 400
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx, err := b.Begin(ctx)
			if err != nil {
				errs <- err
				return
			}
			if _, err := tx.Exec(ctx, `INSERT INTO t (id, v) VALUES (?, ?)`, i, "x"); err != nil {
				errs <- err
				return
			}
			switch i % 5 {
			case 1: // the caller gives up
				errs <- tx.Rollback(ctx)
				return
			case 2: // a statement fails; the transaction goes on and then rolls back
				if _, err := tx.Exec(ctx, `INSERT INTO t (id, v) VALUES (?, ?)`, i, "again"); err == nil {
					errs <- fmt.Errorf("duplicate id %d accepted", i)
					return
				}
				errs <- tx.Rollback(ctx)
				return
			case 3: // a statement fails and the transaction commits what it did before
				if _, err := tx.Exec(ctx, `INSERT INTO t (id, v) VALUES (?, NULL)`, i+n); err == nil {
					errs <- fmt.Errorf("NULL accepted")
					return
				}
			}
			if err := tx.Commit(ctx); err != nil {
				errs <- err
				return
			}
			var v string
			if err := b.QueryRow(ctx, `SELECT v FROM t WHERE id = ?`, i).Scan(&v); err != nil {
				errs <- fmt.Errorf("row %d not readable after its commit: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got := count(t, b)
	for i := 0; i < n; i++ {
		want := i%5 != 1 && i%5 != 2
		if got[i] != want {
			t.Errorf("row %d stored = %v, want %v", i, got[i], want)
		}
	}
	if len(got) != n*3/5 {
		t.Errorf("%d rows stored, want %d", len(got), n*3/5)
	}
}

// TestGroupCommitCancelledWaiters checks that transactions whose callers give up while waiting for
// their turn leave nothing behind and block nobody: the open group still commits.
func TestGroupCommitCancelledWaiters(t *testing.T) {
	b := openBare(t)
	ctx := context.Background()
	first, err := b.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Exec(ctx, `INSERT INTO t (id, v) VALUES (1, 'first')`); err != nil {
		t.Fatal(err)
	}
	// Waiters queue behind the open transaction, then give up.
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx, err := b.Begin(cctx)
			if err == nil {
				// It got in before the cancellation took effect: the group must still hold.
				_, _ = tx.Exec(cctx, `INSERT INTO t (id, v) VALUES (?, 'late')`, 100+i)
				_ = tx.Rollback(ctx)
				return
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("waiter: %v", err)
			}
		}()
	}
	for b.gc.waiting.Load() < 8 {
		time.Sleep(time.Millisecond) // until all of them wait; there is no event to await
	}
	cancel()
	// The first one commits while the others leave.
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// The next transaction runs and commits: no group was left open without an owner.
	done := make(chan error, 1)
	go func() {
		tx, err := b.Begin(ctx)
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO t (id, v) VALUES (2, 'next')`)
		}
		if err == nil {
			err = tx.Commit(ctx)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a transaction after cancelled waiters never ran")
	}
	got := count(t, b)
	if !got[1] || !got[2] || len(got) != 2 {
		t.Errorf("rows = %v, want 1 and 2", got)
	}
}

// TestGroupCommitCancelledMember checks that a member whose caller is cancelled fails its next
// statement without rolling back the others sharing its group.
func TestGroupCommitCancelledMember(t *testing.T) {
	b := openBare(t)
	ctx := context.Background()
	a, err := b.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctx, `INSERT INTO t (id, v) VALUES (1, 'a')`); err != nil {
		t.Fatal(err)
	}
	// b2 waits for its turn; a passes it on (there is a waiter), so both share the group.
	got := make(chan error, 1)
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		tx, err := b.Begin(cctx)
		if err != nil {
			got <- err
			return
		}
		cancel()
		if _, err := tx.Exec(cctx, `INSERT INTO t (id, v) VALUES (2, 'b')`); !errors.Is(err, context.Canceled) {
			got <- fmt.Errorf("statement after cancellation: %v", err)
			_ = tx.Rollback(ctx)
			return
		}
		got <- tx.Rollback(ctx)
	}()
	for b.gc.waiting.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	rows := count(t, b)
	if !rows[1] || rows[2] {
		t.Errorf("rows = %v, want only 1", rows)
	}
}
