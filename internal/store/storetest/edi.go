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

// ExerciseEDI runs the conformance tests of the EDI tables and methods (migration 00002).
func ExerciseEDI(t *testing.T, open Opener) {
	t.Run("EDIControlNumbersInTx", func(t *testing.T) { t.Parallel(); testEDIControlNumbers(t, open(t)) })
	t.Run("EDIOrders", func(t *testing.T) { t.Parallel(); testEDIOrders(t, open(t)) })
	t.Run("EDIOutboundAcks", func(t *testing.T) { t.Parallel(); testEDIOutbound(t, open(t)) })
	t.Run("EDIMappingVersions", func(t *testing.T) { t.Parallel(); testEDIMappingVersions(t, open(t)) })
}

// Control numbers taken inside transactions are unique under concurrency, and a rolled-back
// transaction does not use one up.
func testEDIControlNumbers(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const n = 20
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
				v, err = tx.NextControlNumber(ctx, "ZZ/US", "ZZ/THEM", "ISA")
				return err
			}))
			mu.Lock()
			defer mu.Unlock()
			require.False(t, seen[v], "control number %d handed out twice", v)
			seen[v] = true
		}()
	}
	wg.Wait()
	boom := errors.New("roll back")
	require.ErrorIs(t, db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.NextControlNumber(ctx, "ZZ/US", "ZZ/THEM", "ISA")
		require.NoError(t, err)
		return boom
	}), boom)
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		v, err := tx.NextControlNumber(ctx, "ZZ/US", "ZZ/THEM", "ISA")
		require.Equal(t, int64(n+1), v)
		return err
	}))
	// The transactional and the standalone counters are the same counter.
	v, err := db.NextControlNumber(ctx, "ZZ/US", "ZZ/THEM", "ISA")
	require.NoError(t, err)
	require.Equal(t, int64(n+2), v)
}

func testEDIOrders(t *testing.T, db *store.DB) {
	ctx := context.Background()
	o := &store.EDIOrder{OrderID: "ord_1", Partner: "acme", MessageID: "msg_1", SetID: "850", Interchange: "000000101",
		Group: "101", SetControl: "0001", Mapping: "v1", Detail: `{"rejected":[]}`}
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertEDIOrder(ctx, o) }))
	_, err := db.EDIOrder(ctx, "ord_missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.SetEDIOrderAck(ctx, "ord_1", "out_855") }))
	got, err := db.EDIOrder(ctx, "ord_1")
	require.NoError(t, err)
	require.Equal(t, "out_855", got.AckMessageID)
	require.Equal(t, o.Detail, got.Detail)
	require.Equal(t, "000000101", got.Interchange)
	require.False(t, got.CreatedAt.IsZero())
}

func testEDIOutbound(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC()
	rows := []*store.EDIOutbound{
		{MessageID: "out_1", Partner: "acme", SetID: "855", Interchange: "000000002", Group: "2", SetControl: "0002", OrderID: "ord_1",
			QueuedAt: now.Add(-5 * time.Hour), AckDueAt: now.Add(-time.Hour)},
		{MessageID: "out_2", Partner: "acme", SetID: "855", Interchange: "000000003", Group: "3", SetControl: "0003",
			QueuedAt: now.Add(-5 * time.Hour), AckDueAt: now.Add(-2 * time.Hour)},
		{MessageID: "out_3", Partner: "acme", SetID: "855", Interchange: "000000004", Group: "4", SetControl: "0004",
			QueuedAt: now, AckDueAt: now.Add(time.Hour)},
		{MessageID: "out_4", Partner: "acme", SetID: "997", Interchange: "000000005", Group: "5", SetControl: "0005", AckStatus: "n/a"},
	}
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range rows {
			if err := tx.InsertEDIOutbound(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}))
	over, err := db.OverdueEDIOutbound(ctx, now, 0)
	require.NoError(t, err)
	require.Len(t, over, 2)
	require.Equal(t, "out_2", over[0].MessageID, "oldest due first")
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.AckEDIOutbound(ctx, "acme", "2", "0002", "A", "msg_997")
		require.True(t, ok)
		return err
	}))
	over, err = db.OverdueEDIOutbound(ctx, now, 0)
	require.NoError(t, err)
	require.Len(t, over, 1)
	require.Equal(t, "out_2", over[0].MessageID)
}

func testEDIMappingVersions(t *testing.T, db *store.DB) {
	ctx := context.Background()
	v, err := db.MappingVersion(ctx, "acme", "850 in")
	require.NoError(t, err)
	require.Empty(t, v)
	for _, ver := range []string{"v1", "v2"} {
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.SetMappingVersion(ctx, "acme", "850 in", ver, "ops") }))
		v, err = db.MappingVersion(ctx, "acme", "850 in")
		require.NoError(t, err)
		require.Equal(t, ver, v)
	}
}
