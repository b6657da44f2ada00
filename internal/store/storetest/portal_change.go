package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/store"
)

// ExerciseChangeRequests runs the conformance tests of the portal's change requests: filing,
// the due list, leases that one worker of several wins, retries and the decision.
func ExerciseChangeRequests(t *testing.T, open Opener) {
	t.Run("ChangeRequestLifecycle", func(t *testing.T) { t.Parallel(); testChangeLifecycle(t, open(t)) })
	t.Run("ChangeRequestClaimOnce", func(t *testing.T) { t.Parallel(); testChangeClaimOnce(t, open(t)) })
}

func fileChange(t *testing.T, db *store.DB, c *store.ChangeRequest) {
	t.Helper()
	require.NoError(t, db.InTx(context.Background(), func(tx *store.Tx) error { return tx.InsertChangeRequest(context.Background(), c) }))
}

func testChangeLifecycle(t *testing.T, db *store.DB) {
	ctx := context.Background()
	cancel := &store.ChangeRequest{ID: store.NewID("chg"), Account: "ACME", OrderID: "ord_1", Kind: "cancel", Detail: "{}"}
	fileChange(t, db, cancel)
	change := &store.ChangeRequest{ID: store.NewID("chg"), Account: "ACME", OrderID: "ord_1", Kind: "change", Detail: `{"lines":[]}`,
		CreatedAt: cancel.CreatedAt.Add(time.Millisecond)}
	fileChange(t, db, change)
	fileChange(t, db, &store.ChangeRequest{ID: store.NewID("chg"), Account: "GLOBEX", OrderID: "ord_2", Kind: "cancel", Detail: "{}"})

	got, err := db.ChangeRequest(ctx, cancel.ID)
	require.NoError(t, err)
	require.Equal(t, store.ChangeRequested, got.State, "requested by default")
	require.True(t, got.NextAt.Equal(got.CreatedAt), "due at once")
	require.True(t, got.DecidedAt.IsZero())
	_, err = db.ChangeRequest(ctx, "chg_missing")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := db.ChangeRequests(ctx, "ord_1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []string{cancel.ID, change.ID}, []string{list[0].ID, list[1].ID}, "oldest first")

	now := db.Now().Add(time.Second)
	due, err := db.DueChangeRequests(ctx, now, 10)
	require.NoError(t, err)
	require.Len(t, due, 3)
	require.Equal(t, cancel.ID, due[0].ID)

	// A lease takes it off the due list until it runs out.
	c := due[0]
	ok, err := db.ClaimChangeRequest(ctx, c, now.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	due, err = db.DueChangeRequests(ctx, now, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	due, err = db.DueChangeRequests(ctx, now.Add(2*time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, due, 3, "an expired lease is due again")

	// An attempt without a decision is recorded and sets the next one.
	c.LastError = "the ERP is down"
	require.NoError(t, db.RetryChangeRequest(ctx, c, now.Add(5*time.Second)))
	got, err = db.ChangeRequest(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.Attempts)
	require.Equal(t, "the ERP is down", got.LastError)
	require.True(t, got.NextAt.Equal(now.Add(5*time.Second).Truncate(time.Microsecond)), "next at %s", got.NextAt)

	// The decision is final: a second one conflicts and rolls its transaction back.
	c.State, c.Reason = store.ChangeRefused, "order PO-1 is shipped"
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.DecideChangeRequest(ctx, c) }))
	got, err = db.ChangeRequest(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, store.ChangeRefused, got.State)
	require.Equal(t, "order PO-1 is shipped", got.Reason)
	require.False(t, got.DecidedAt.IsZero())
	require.Empty(t, got.LastError)
	again := *c
	again.State = store.ChangeAccepted
	err = db.InTx(ctx, func(tx *store.Tx) error { return tx.DecideChangeRequest(ctx, &again) })
	require.ErrorIs(t, err, store.ErrConflict)
	got, err = db.ChangeRequest(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, store.ChangeRefused, got.State)

	// A decided request is off the due list, cannot be claimed, and a late retry changes nothing.
	due, err = db.DueChangeRequests(ctx, now.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	ok, err = db.ClaimChangeRequest(ctx, got, now.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, db.RetryChangeRequest(ctx, got, now))
	got, err = db.ChangeRequest(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.Attempts)

	require.Error(t, db.InTx(ctx, func(tx *store.Tx) error {
		return tx.DecideChangeRequest(ctx, &store.ChangeRequest{ID: change.ID, State: store.ChangeRequested})
	}), "requested is not a decision")
}

func testChangeClaimOnce(t *testing.T, db *store.DB) {
	ctx := context.Background()
	c := &store.ChangeRequest{ID: store.NewID("chg"), Account: "ACME", OrderID: "ord_1", Kind: "cancel", Detail: "{}"}
	fileChange(t, db, c)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cp := *c
			ok, err := db.ClaimChangeRequest(ctx, &cp, db.Now().Add(time.Minute))
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, won, "one worker wins the lease")
}
