package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/store"
)

// ExerciseEDIFulfilment runs the conformance tests of EDI fulfilment (migration 00006): SSCC
// serials and their single use, the 856/810 record per ERP document, and finding outbound sets for
// an inbound acknowledgement.
func ExerciseEDIFulfilment(t *testing.T, open Opener) {
	t.Run("SSCCSerialsUnique", func(t *testing.T) { t.Parallel(); testSSCCSerials(t, open(t)) })
	t.Run("SSCCUsedOnce", func(t *testing.T) { t.Parallel(); testSSCCUsedOnce(t, open(t)) })
	t.Run("EDIFulfilmentRecords", func(t *testing.T) { t.Parallel(); testEDIFulfilment(t, open(t)) })
	t.Run("EDIOutboundSets", func(t *testing.T) { t.Parallel(); testEDIOutboundSets(t, open(t)) })
	t.Run("FlagOverdueOnce", func(t *testing.T) { t.Parallel(); testFlagOverdue(t, open(t)) })
}

// An overdue set is flagged once; an acknowledged or not yet due one never.
func testFlagOverdue(t *testing.T, db *store.DB) {
	ctx := context.Background()
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		for i, due := range []time.Duration{time.Hour, 2 * time.Hour, 10 * time.Hour} {
			st := fmt.Sprintf("000%d", i+1)
			require.NoError(t, tx.InsertEDIOutbound(ctx, &store.EDIOutbound{MessageID: "out_" + st, Partner: "acme", SetID: "856",
				Interchange: "000000001", Group: "1", SetControl: st, QueuedAt: base, AckDueAt: base.Add(due)}))
		}
		_, err := tx.AckEDIOutbound(ctx, "acme", "1", "0002", "A", "in_1")
		return err
	}))
	flag := func(at time.Time) (ids []string) {
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
			list, err := tx.FlagOverdueEDIOutbound(ctx, at, 0)
			for _, o := range list {
				ids = append(ids, o.MessageID)
			}
			return err
		}))
		return ids
	}
	require.Equal(t, []string{"out_0001"}, flag(base.Add(3*time.Hour)))
	require.Empty(t, flag(base.Add(4*time.Hour)))
	require.Equal(t, []string{"out_0003"}, flag(base.Add(11*time.Hour)))
}

// Serials taken concurrently are unique and consecutive per prefix; prefixes do not share them.
func testSSCCSerials(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const n = 12
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var v int64
			require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
				var err error
				v, err = tx.NextSSCCSerial(ctx, "0614141")
				return err
			}))
			mu.Lock()
			defer mu.Unlock()
			require.False(t, seen[v], "serial %d handed out twice", v)
			seen[v] = true
		}()
	}
	wg.Wait()
	for i := int64(1); i <= n; i++ {
		require.True(t, seen[i], "serial %d missing", i)
	}
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		v, err := tx.NextSSCCSerial(ctx, "0012345")
		require.NoError(t, err)
		require.Equal(t, int64(1), v)
		return nil
	}))
}

func testSSCCUsedOnce(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const code = "006141410000000012"
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		used, err := tx.SSCCUsed(ctx, code)
		require.NoError(t, err)
		require.False(t, used)
		return tx.UseSSCC(ctx, code, "acme", "WH/OUT/1", "out_1")
	}))
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		used, err := tx.SSCCUsed(ctx, code)
		require.NoError(t, err)
		require.True(t, used)
		err = tx.UseSSCC(ctx, code, "acme", "WH/OUT/2", "out_2")
		require.ErrorIs(t, err, store.ErrSSCCUsed)
		return nil
	}))
}

func testEDIFulfilment(t *testing.T, db *store.DB) {
	ctx := context.Background()
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.EDIFulfilment(ctx, "acme", "856", "WH/OUT/1")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, tx.PutEDIFulfilment(ctx, &store.EDIFulfilment{Partner: "acme", SetID: "856", ERPRef: "WH/OUT/1", OrderID: "ord_1",
			State: store.FulfilmentHeld, Reason: "line 1 overshipped", DeadLetterID: "dl_1"}))
		f, err := tx.EDIFulfilment(ctx, "acme", "856", "WH/OUT/1")
		require.NoError(t, err)
		require.Equal(t, store.FulfilmentHeld, f.State)
		require.Equal(t, "dl_1", f.DeadLetterID)
		require.NoError(t, tx.PutEDIFulfilment(ctx, &store.EDIFulfilment{Partner: "acme", SetID: "856", ERPRef: "WH/OUT/1", OrderID: "ord_1",
			MessageID: "out_9", State: store.FulfilmentSent}))
		f, err = tx.EDIFulfilmentByMessage(ctx, "out_9")
		require.NoError(t, err)
		require.Equal(t, store.FulfilmentSent, f.State)
		require.Empty(t, f.Reason)
		_, err = tx.EDIFulfilmentByMessage(ctx, "out_nope")
		require.True(t, errors.Is(err, store.ErrNotFound))
		return tx.PutEDIFulfilment(ctx, &store.EDIFulfilment{Partner: "acme", SetID: "810", ERPRef: "INV/1", OrderID: "ord_1",
			MessageID: "out_10", State: store.FulfilmentSent})
	}))
	list, err := db.EDIFulfilments(ctx, "ord_1")
	require.NoError(t, err)
	require.Len(t, list, 2)
}

func testEDIOutboundSets(t *testing.T, db *store.DB) {
	ctx := context.Background()
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		for _, st := range []string{"0001", "0002"} {
			require.NoError(t, tx.InsertEDIOutbound(ctx, &store.EDIOutbound{MessageID: "out_" + st, Partner: "acme", SetID: "856",
				Interchange: "000000007", Group: "7", SetControl: st}))
		}
		all, err := tx.EDIOutboundSets(ctx, "acme", "7", "")
		require.NoError(t, err)
		require.Len(t, all, 2)
		one, err := tx.EDIOutboundSets(ctx, "acme", "7", "0002")
		require.NoError(t, err)
		require.Len(t, one, 1)
		require.Equal(t, "out_0002", one[0].MessageID)
		none, err := tx.EDIOutboundSets(ctx, "globex", "7", "")
		require.NoError(t, err)
		require.Empty(t, none)
		return nil
	}))
}
